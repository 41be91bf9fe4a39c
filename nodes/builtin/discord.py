"""The Discord node: send messages with embeds (webhook or bot), list a channel's messages (bot).

Shaped like n8n's Discord node (``resource`` + ``operation``), calling Discord's HTTP API v10
(https://discord.com/developers/docs/resources/message and .../resources/webhook):

* message ``send``: with a ``discord_webhook`` credential, ``POST <webhook URL>?wait=true`` (a ``?thread_id=`` in
  the URL is kept; ``content``,
  ``embeds``, ``username``, ``avatar_url``, ``tts``); with a ``discord_bot`` credential,
  ``POST /channels/{channel_id}/messages`` (``content``, ``embeds``, ``tts``, ``reply_to`` as a message
  reference). At most 10 embeds; a message needs content or embeds. The output is Discord's Message object.
* message ``get_all`` (bot only): ``GET /channels/{channel_id}/messages``, newest first, paged backwards with
  ``before`` (the oldest id of the previous page), 100 a page, up to ``limit`` (``return_all``: at most 10,000);
  ``before`` also sets where to start.

Errors quote Discord's ``message`` and JSON error code (``Discord refused POST /channels/1/messages (404):
Unknown Channel (code 10003)``). A 429 is waited out as its ``retry_after`` (or ``Retry-After``) says, up to 30 s,
3 times, then reported as transient, as are 5xx answers. The webhook URL holds a secret token: messages name
``webhook``, never the URL. Calls go through the platform's address policy.
"""

from __future__ import annotations

from typing import Any, Literal

import httpx
from pydantic import Field, model_validator

from nodes.sdk import Node, NodeParameters, NodeTransientError, NodeUserError
from nodes.sdk.saas_http import SaasClient, collect, dig, saas_client

MAX_ITEMS = 10_000
PAGE_SIZE = 100  # Discord's maximum for GET /channels/{id}/messages


class DiscordParameters(NodeParameters):
    resource: Literal["message"] = Field("message", description="What to work with")
    operation: Literal["send", "get_all"] = Field("send", description="send (webhook or bot); get_all (bot)")
    channel_id: str = Field("", max_length=30, pattern=r"^\d*$", description="bot: the channel's id (a snowflake)")
    content: str = Field("", max_length=2000, description="send: the message text (up to 2000 characters)")
    embeds: list[dict] = Field(default_factory=list, max_length=10, description="send: up to 10 embed objects")
    username: str = Field("", max_length=80, description="send with a webhook: the name shown instead")
    avatar_url: str = Field("", max_length=2048, description="send with a webhook: the avatar shown instead")
    tts: bool = Field(False, description="send: read it aloud")
    reply_to: str = Field("", max_length=30, pattern=r"^\d*$", description="send with a bot: reply to this message")
    before: str = Field("", max_length=30, pattern=r"^\d*$", description="get_all: messages older than this id")
    return_all: bool = Field(False, description="get_all: every page")
    limit: int = Field(50, ge=1, le=MAX_ITEMS, description="get_all: at most this many messages")

    @model_validator(mode="after")
    def _fits(self) -> DiscordParameters:
        if self.operation == "send" and not (self.content or self.embeds):
            raise ValueError("a message needs content or embeds")
        return self


class Discord(Node):
    """One call (or one paged listing) per item."""

    type = "discord"
    display_name = "Discord"
    group = "integration"
    icon = "messages-square"
    description = "Send Discord messages with embeds (webhook or bot) and list a channel's messages (bot)."
    Parameters = DiscordParameters
    credential_slots = {"discord": ("discord_bot", "discord_webhook")}
    side_effects = True

    async def execute(self, ctx, items):
        login = await ctx.credentials("discord")
        async with saas_client(ctx, "Discord", headers=login.get("headers"), error_text=_message,
                               retry_after=lambda body: dig(body, "retry_after")) as api:
            out: list[dict] = []
            for index in range(len(items)):
                try:
                    out += await _one(api, login, ctx.params(index))
                except (NodeUserError, NodeTransientError) as exc:
                    exc.item_index = index
                    raise
            return out


def _message(body: Any) -> str | None:
    message = dig(body, "message")
    if not message:
        return None
    code = dig(body, "code")
    fields = dig(body, "errors")
    return f"{message}" + (f" (code {code})" if code else "") + (f"; {_first_field_error(fields)}" if fields else "")


def _first_field_error(errors: Any, path: str = "") -> str:
    """Discord nests field errors: {"embeds": {"0": {"title": {"_errors": [{"message": ...}]}}}}."""
    if isinstance(errors, dict):
        if isinstance(errors.get("_errors"), list) and errors["_errors"]:
            return f"{path or 'body'}: {dig(errors['_errors'][0], 'message')}"
        for key, value in errors.items():
            found = _first_field_error(value, f"{path}.{key}" if path else key)
            if found:
                return found
    return ""


async def _one(api: SaasClient, login: dict, p: DiscordParameters) -> list[dict]:
    webhook = login.get("kind") == "webhook"
    if p.operation == "get_all":
        if webhook:
            raise NodeUserError("a webhook can only send; listing messages needs a Discord bot credential")
        if not p.channel_id:
            raise NodeUserError("get_all needs channel_id")
        return [{"json": m} for m in await _messages(api, login["api_base_url"], p)]
    body: dict[str, Any] = {}
    if p.content:
        body["content"] = p.content
    if p.embeds:
        body["embeds"] = p.embeds
    if p.tts:
        body["tts"] = True
    if webhook:
        if p.username:
            body["username"] = p.username
        if p.avatar_url:
            body["avatar_url"] = p.avatar_url
        url = str(httpx.URL(login["webhook_url"]).copy_merge_params({"wait": "true"}))  # keeps ?thread_id=
        return [{"json": await api.call("POST", url, json=body, label="webhook")}]
    if not p.channel_id:
        raise NodeUserError("sending with a bot needs channel_id")
    if p.reply_to:
        body["message_reference"] = {"message_id": p.reply_to}
    return [{"json": await api.call("POST", f"{login['api_base_url']}/channels/{p.channel_id}/messages", json=body)}]


async def _messages(api: SaasClient, base: str, p: DiscordParameters) -> list[dict]:
    limit = MAX_ITEMS if p.return_all else p.limit
    fetched: list[dict] = []

    async def page(before: str | None) -> tuple[list, str | None]:
        query = {"limit": min(PAGE_SIZE, limit - len(fetched))}
        if before or p.before:
            query["before"] = before or p.before
        answer = await api.call("GET", f"{base}/channels/{p.channel_id}/messages", params=query)
        rows = answer if isinstance(answer, list) else []
        fetched.extend(rows)
        full = len(rows) == query["limit"]
        return rows, (str(rows[-1]["id"]) if full and rows and isinstance(rows[-1], dict) else None)

    return await collect(page, limit)
