"""The Respond to Webhook node: sets the HTTP answer of the webhook that started the execution."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, field_validator

from nodes.builtin._fields import jsonable
from nodes.sdk import Node, NodeParameters, ResponseSpec, show_if

_CONTENT_TYPES = {"text": "text/plain; charset=utf-8"}
_JSON = "application/json"


class RespondToWebhookParameters(NodeParameters):
    status: int = Field(200, ge=100, le=599, description="HTTP status code")
    headers: dict[str, str] = Field(default_factory=dict, description="Extra response headers")

    @field_validator("headers", mode="before")
    @classmethod
    def _header_values_as_text(cls, value: Any) -> Any:
        if isinstance(value, dict):  # an expression may give a number: {"X-Order": "{{ $json.id }}"}
            return {key: v if isinstance(v, str) or v is None else str(v) for key, v in value.items()}
        return value
    body_type: Literal["json", "text", "first_item", "all_items", "no_data"] = Field(
        "first_item",
        description="json: the body below as JSON; text: the body below as text; first_item: the first "
        "item's json; all_items: a list of every item's json; no_data: an empty body",
    )
    body: Any = Field(None, description="json/text: what to send, e.g. {\"ok\": true} or an expression",
                      json_schema_extra=show_if(body_type=["json", "text"]))


class RespondToWebhook(Node):
    """Passes its items on unchanged.

    The ResponseSpec body is a JSON value for json/first_item/all_items (with Content-Type
    application/json unless the headers set one), text for text (text/plain), None for no_data.
    The workflow's webhook trigger must use respond='respond_node'.
    """

    type = "respond_to_webhook"
    display_name = "Respond to Webhook"
    group = "integration"
    side_effects = False
    icon = "reply"
    description = "Answers the HTTP call that started the workflow with a status, headers and body."
    Parameters = RespondToWebhookParameters

    async def execute(self, ctx, items):
        params = ctx.params(0)
        body = _body(params, items)
        ctx.respond(ResponseSpec(status=params.status, headers=_headers(params, body), body=body))
        return items


def _body(params: RespondToWebhookParameters, items: list[dict]) -> Any:
    if params.body_type == "json":
        return jsonable(params.body)
    if params.body_type == "text":
        return "" if params.body is None else str(params.body)
    if params.body_type == "first_item":
        return items[0].get("json", {}) if items else {}
    if params.body_type == "all_items":
        return [item.get("json", {}) for item in items]
    return None


def _headers(params: RespondToWebhookParameters, body: Any) -> dict[str, str]:
    headers = dict(params.headers)
    if body is None or any(name.lower() == "content-type" for name in headers):
        return headers
    headers["Content-Type"] = _CONTENT_TYPES.get(params.body_type, _JSON)
    return headers
