"""The SendGrid node: send an email through SendGrid's Mail Send API v3, with attachments from the item's files.

Shaped like n8n's SendGrid node (resource ``mail``, operation ``send``), calling ``POST /v3/mail/send``
(https://www.twilio.com/docs/sendgrid/api-reference/mail-send/mail-send) with the ``sendgrid`` credential:
``from_email`` (and ``from_name``), ``to_email`` / ``cc_email`` / ``bcc_email`` (comma-separated), ``subject``,
``content_type`` ``text/plain`` or ``text/html`` with ``content``, or a dynamic ``template_id`` with
``dynamic_template_data``; ``reply_to``, ``categories``, ``send_at`` (epoch seconds); ``attachments``: names of the
item's files (comma-separated), sent base64-encoded with their file names and types (at most 30 MB in all, as
SendGrid allows). SendGrid answers 202 with no body: the output is ``{"message_id": X-Message-Id, "status": 202}``.

Mail Send does not page. Errors quote SendGrid's ``errors[].message`` and ``field`` (``SendGrid refused POST
/v3/mail/send (400): The from email does not contain a valid address. (field from.email)``). A 429 is waited out
until ``X-RateLimit-Reset`` (or ``Retry-After``), up to 30 s, 3 times, then reported as transient, as are 5xx
answers. Calls go through the platform's address policy.
"""

from __future__ import annotations

import base64
import json
from typing import Any, Literal

from pydantic import Field, model_validator

from nodes.builtin._files import binary_ref
from nodes.sdk import Node, NodeParameters, NodeTransientError, NodeUserError
from nodes.sdk.saas_http import dig, saas_client

MAX_ATTACHMENT_BYTES = 30 * 1024 * 1024  # SendGrid's limit for the whole message


class SendGridParameters(NodeParameters):
    resource: Literal["mail"] = Field("mail", description="What to work with")
    operation: Literal["send"] = Field("send", description="send: one email per item")
    from_email: str = Field(min_length=3, max_length=320, description="The sender's address (a verified sender)")
    from_name: str = Field("", max_length=200, description="The sender's name")
    to_email: str = Field(min_length=3, max_length=10_000, description="Recipients, comma-separated")
    cc_email: str = Field("", max_length=10_000, description="Copy to, comma-separated")
    bcc_email: str = Field("", max_length=10_000, description="Blind copy to, comma-separated")
    subject: str = Field("", max_length=998, description="The subject (not needed with a template that sets one)")
    content_type: Literal["text/plain", "text/html"] = Field("text/plain", description="What 'content' is")
    content: str = Field("", max_length=10_000_000, description="The body")
    template_id: str = Field("", max_length=64, description="A dynamic template (d-...) instead of content")
    dynamic_template_data: dict = Field(default_factory=dict, description="Values for the template's fields")
    reply_to: str = Field("", max_length=320, description="Replies go to this address")
    categories: list[str] = Field(default_factory=list, max_length=10, description="Categories for statistics")
    send_at: int | None = Field(None, ge=0, description="Send later: a Unix time (up to 72 hours ahead)")
    attachments: str = Field("", max_length=1000, description="Names of the item's files to attach, comma-separated")

    @model_validator(mode="after")
    def _fits(self) -> SendGridParameters:
        if not (self.content or self.template_id):
            raise ValueError("an email needs content or a template_id")
        if not self.template_id and not self.subject:
            raise ValueError("an email without a template needs a subject")
        return self


class SendGrid(Node):
    """One ``/v3/mail/send`` call per item."""

    type = "sendgrid"
    display_name = "SendGrid"
    group = "integration"
    icon = "mail"
    description = "Send email through SendGrid (text, HTML or a dynamic template), with attachments."
    Parameters = SendGridParameters
    credential_slots = {"sendgrid": ("sendgrid",)}
    side_effects = True

    async def execute(self, ctx, items):
        login = await ctx.credentials("sendgrid")
        url = login.get("api_base_url", "https://api.sendgrid.com").rstrip("/") + "/v3/mail/send"
        async with saas_client(ctx, "SendGrid", headers=login["headers"], error_text=_errors) as api:
            out: list[dict] = []
            for index, item in enumerate(items):
                try:
                    body = await _message(ctx, ctx.params(index), item, index)
                    response, answer = await api.send("POST", url, json=body)
                    if response.status_code >= 400:
                        raise api.refused("POST", "/v3/mail/send", response.status_code, _json(answer))
                    out.append({"json": {"message_id": response.headers.get("X-Message-Id", ""),
                                         "status": response.status_code}})
                except (NodeUserError, NodeTransientError) as exc:
                    exc.item_index = index
                    raise
            return out


def _json(body: bytes) -> Any:
    try:
        return json.loads(body)
    except ValueError:
        return None


def _errors(body: Any) -> str | None:
    errors = dig(body, "errors")
    if not isinstance(errors, list) or not errors:
        return None
    texts = [f"{e.get('message', '?')}" + (f" (field {e['field']})" if e.get("field") else "")
             for e in errors[:3] if isinstance(e, dict)]
    return "; ".join(texts) or None


def _addresses(text: str) -> list[dict]:
    return [{"email": a.strip()} for a in text.split(",") if a.strip()]


async def _message(ctx, p: SendGridParameters, item: dict, index: int) -> dict:
    personalization: dict[str, Any] = {"to": _addresses(p.to_email)}
    if p.cc_email:
        personalization["cc"] = _addresses(p.cc_email)
    if p.bcc_email:
        personalization["bcc"] = _addresses(p.bcc_email)
    if p.dynamic_template_data:
        personalization["dynamic_template_data"] = p.dynamic_template_data
    body: dict[str, Any] = {"personalizations": [personalization],
                            "from": {"email": p.from_email, **({"name": p.from_name} if p.from_name else {})}}
    if p.subject:
        body["subject"] = p.subject
    if p.content:
        body["content"] = [{"type": p.content_type, "value": p.content}]
    if p.template_id:
        body["template_id"] = p.template_id
    if p.reply_to:
        body["reply_to"] = {"email": p.reply_to}
    if p.categories:
        body["categories"] = p.categories
    if p.send_at is not None:
        body["send_at"] = p.send_at
    files, total = [], 0
    for name in (n.strip() for n in p.attachments.split(",") if n.strip()):
        ref = binary_ref(item, name, index, MAX_ATTACHMENT_BYTES)
        data = await ctx.get_binary(ref)
        total += len(data)
        if total > MAX_ATTACHMENT_BYTES:
            raise NodeUserError(f"the attachments are over {MAX_ATTACHMENT_BYTES // 2**20} MB, SendGrid's limit "
                                "for one email", item_index=index)
        files.append({"content": base64.b64encode(data).decode(), "filename": ref.get("file_name") or name,
                      "type": ref.get("mime_type") or "application/octet-stream", "disposition": "attachment"})
    if files:
        body["attachments"] = files
    return body
