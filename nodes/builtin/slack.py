"""The Slack node: post, update and delete messages, list channels, read a channel's history, look up users.

Shaped like n8n's Slack node (``resource`` + ``operation``), calling Slack's Web API with the ``slack``
credential's bot token:

* message ``post`` (``chat.postMessage``: ``channel``, ``text``, optional ``blocks`` and ``thread_ts``),
  ``update`` (``chat.update``: ``channel``, ``ts``, ``text``), ``delete`` (``chat.delete``: ``channel``, ``ts``);
  the output is Slack's answer (``channel``, ``ts``, ``message``...).
* channel ``get_all`` (``conversations.list``) and ``history`` (``conversations.history``): one item per
  channel or message, following Slack's cursors (``response_metadata.next_cursor``) page by page up to
  ``limit`` (``return_all``: every page, at most 10,000 items).
* user ``info`` (``users.info``): the user object.

Errors name Slack's error code (``Slack refused chat.postMessage: channel_not_found``). A 429 answer is
waited out as its ``Retry-After`` header says (up to 30 s, 3 times), then reported as transient, as are
5xx answers and Slack's own transient errors. Calls go through the platform's address policy (both through
``nodes/sdk/jsonapi.py``, which the other SaaS nodes share).
"""

from __future__ import annotations

from typing import Any, Literal

import httpx
from pydantic import Field, model_validator

from nodes.sdk import Node, NodeParameters, NodeTransientError, NodeUserError
from nodes.sdk.jsonapi import JsonApi

MAX_ITEMS = 10_000
PAGE_SIZE = 200  # Slack's recommended page size for cursor-paged methods
MAX_RETRY_AFTER_S = 30
RATE_LIMIT_TRIES = 3
_OPERATIONS = {"message": ("post", "update", "delete"), "channel": ("get_all", "history"), "user": ("info",)}
_TRANSIENT = {"ratelimited", "internal_error", "fatal_error", "service_unavailable", "request_timeout"}


class SlackParameters(NodeParameters):
    resource: Literal["message", "channel", "user"] = Field("message", description="What to work with")
    operation: Literal["post", "update", "delete", "get_all", "history", "info"] = Field(
        "post", description="message: post, update, delete; channel: get_all, history; user: info")
    channel: str = Field("", max_length=200, description="Channel id (C...) or name (#general)")
    text: str = Field("", max_length=40_000, description="post/update: the message text (mrkdwn)")
    blocks: list[dict] | None = Field(None, description="post/update: Block Kit blocks")
    thread_ts: str = Field("", description="post: reply in this message's thread")
    ts: str = Field("", description="update/delete: the message's timestamp id")
    user: str = Field("", description="info: the user id (U...)")
    return_all: bool = Field(False, description="get_all/history: every page")
    limit: int = Field(100, ge=1, le=MAX_ITEMS, description="get_all/history: at most this many items")

    @model_validator(mode="after")
    def _fits(self) -> SlackParameters:
        if self.operation not in _OPERATIONS[self.resource]:
            raise ValueError(f"{self.resource} has no operation {self.operation!r} "
                             f"(choose {', '.join(_OPERATIONS[self.resource])})")
        needs = {"post": ("channel",), "update": ("channel", "ts"), "delete": ("channel", "ts"),
                 "history": ("channel",), "info": ("user",)}.get(self.operation, ())
        missing = [name for name in needs if not getattr(self, name)]
        if missing:
            raise ValueError(f"{self.resource} {self.operation} needs {' and '.join(missing)}")
        if self.operation == "post" and not (self.text or self.blocks):
            raise ValueError("a message needs text or blocks")
        return self


class Slack(Node):
    """One Slack Web API call (or one paged listing) per item."""

    type = "slack"
    display_name = "Slack"
    group = "integration"
    icon = "message-square"
    description = "Post, update and delete Slack messages, list channels, read history, look up users."
    Parameters = SlackParameters
    credential_slots = {"slack": ("slack",)}
    side_effects = True

    async def execute(self, ctx, items):
        login = await ctx.credentials("slack")
        base = login.get("api_base_url", "https://slack.com/api").rstrip("/")
        async with JsonApi.open(ctx, "Slack", base, login["headers"], max_wait_s=MAX_RETRY_AFTER_S,
                                tries=RATE_LIMIT_TRIES) as http:
            api = _Api(http)
            out: list[dict] = []
            for index in range(len(items)):
                try:
                    out += await _one(api, ctx.params(index))
                except (NodeUserError, NodeTransientError) as exc:
                    exc.item_index = index
                    raise
            return out


class _Api:
    """Slack's methods over the shared JsonApi (address policy, Retry-After, 5xx); Slack's own ``ok: false``
    answers (HTTP 200) are read here."""

    def __init__(self, http: JsonApi) -> None:
        self.http = http

    async def call(self, method: str, payload: dict, *, read: bool = False) -> dict:
        response = await (self.http.request("GET", f"/{method}", params=payload) if read else
                          self.http.request("POST", f"/{method}", json=payload))
        return _answer(method, response)

    async def pages(self, method: str, payload: dict, key: str, limit: int) -> list[dict]:
        found: list[dict] = []
        cursor = ""
        while len(found) < limit:
            answer = await self.call(method, {**payload, "limit": min(PAGE_SIZE, limit - len(found)),
                                              **({"cursor": cursor} if cursor else {})}, read=True)
            found += answer.get(key) or []
            cursor = (answer.get("response_metadata") or {}).get("next_cursor") or ""
            if not cursor:
                break
        return found[:limit]


def _answer(method: str, response: httpx.Response) -> dict:
    if response.status_code >= 500:
        raise NodeTransientError(f"Slack {method} answered {response.status_code}")
    try:
        answer = response.json()
    except ValueError:
        answer = None
    if not isinstance(answer, dict):
        raise NodeUserError(f"Slack {method} answered {response.status_code} without Slack's JSON; "
                            "check the credential's API base URL")
    if answer.get("ok") is not True:
        error = str(answer.get("error", "unknown_error"))
        kind = NodeTransientError if error in _TRANSIENT else NodeUserError
        raise kind(f"Slack refused {method}: {error}")
    return {k: v for k, v in answer.items() if k not in ("ok", "warning")}


async def _one(api: _Api, p: SlackParameters) -> list[dict]:
    limit = MAX_ITEMS if p.return_all else p.limit
    if p.operation == "get_all":
        channels = await api.pages("conversations.list", {"exclude_archived": "true"}, "channels", limit)
        return [{"json": channel} for channel in channels]
    if p.operation == "history":
        messages = await api.pages("conversations.history", {"channel": p.channel}, "messages", limit)
        return [{"json": message} for message in messages]
    if p.operation == "info":
        return [{"json": (await api.call("users.info", {"user": p.user}, read=True))["user"]}]
    payload: dict[str, Any] = {"channel": p.channel}
    if p.operation in ("update", "delete"):
        payload["ts"] = p.ts
    if p.operation in ("post", "update"):
        payload["text"] = p.text
        if p.blocks is not None:
            payload["blocks"] = p.blocks
    if p.operation == "post" and p.thread_ts:
        payload["thread_ts"] = p.thread_ts
    method = {"post": "chat.postMessage", "update": "chat.update", "delete": "chat.delete"}[p.operation]
    answer = await api.call(method, payload)
    answer.pop("response_metadata", None)  # warnings about the request, not part of the message
    return [{"json": answer}]
