"""The Telegram node: send and edit messages, send photos and documents, read a chat, with a bot token.

Shaped like n8n's Telegram node (``resource`` + ``operation``), calling the Telegram Bot API (https://core.telegram
.org/bots/api, Bot API 7.x) at ``{api_base_url}/bot<token>/<method>`` with the ``telegram`` credential:

* message ``send_message`` (``sendMessage``: ``chat_id``, ``text``, optional ``parse_mode``, ``reply_to_message_id``,
  ``disable_notification``, ``disable_web_page_preview``, ``reply_markup``), ``edit_message_text``
  (``editMessageText``: ``chat_id``, ``message_id``, ``text``), ``send_photo`` / ``send_document``
  (``sendPhoto`` / ``sendDocument``: the item's file under ``binary_property`` uploaded as multipart form data, or,
  with ``binary_data`` off, ``file`` as a URL or a ``file_id`` Telegram already has; optional ``caption``).
  The output is Telegram's ``result``: the Message sent or edited.
* chat ``get`` (``getChat``: ``chat_id``): the Chat.

Telegram does not page these methods, so there is no return-all/limit here. Errors quote Telegram's
``description`` (``Telegram refused sendMessage (400): Bad Request: chat not found``). A 429 is waited out as
Telegram's ``parameters.retry_after`` (or the ``Retry-After`` header) says, up to 30 s, 3 times; then it is reported
as transient, as are 5xx answers. The bot token is part of the URL, so messages name the method, never the URL.
Calls go through the platform's address policy.
"""

from __future__ import annotations

import json
from typing import Any, Literal

from pydantic import Field, model_validator

from nodes.builtin._files import read_binary
from nodes.sdk import Node, NodeParameters, NodeTransientError, NodeUserError
from nodes.sdk.saas_http import SaasClient, dig, saas_client

_OPERATIONS = {"message": ("send_message", "edit_message_text", "send_photo", "send_document"), "chat": ("get",)}
_METHODS = {"send_message": "sendMessage", "edit_message_text": "editMessageText", "send_photo": "sendPhoto",
            "send_document": "sendDocument", "get": "getChat"}


class TelegramParameters(NodeParameters):
    resource: Literal["message", "chat"] = Field("message", description="What to work with")
    operation: Literal["send_message", "edit_message_text", "send_photo", "send_document", "get"] = Field(
        "send_message", description="message: send_message, edit_message_text, send_photo, send_document; chat: get")
    chat_id: str = Field("", max_length=200, description="Chat id (a number) or @channelusername")
    text: str = Field("", max_length=4096, description="send_message/edit_message_text: the text (1-4096 characters)")
    message_id: int | None = Field(None, description="edit_message_text: the message to edit")
    parse_mode: Literal["", "HTML", "Markdown", "MarkdownV2"] = Field("", description="How Telegram reads the text")
    disable_notification: bool = Field(False, description="Send silently")
    disable_web_page_preview: bool = Field(False, description="send_message/edit: no link preview")
    reply_to_message_id: int | None = Field(None, description="send: reply to this message")
    reply_markup: dict | None = Field(None, description="send: an inline keyboard or reply keyboard object")
    binary_data: bool = Field(True, description="send_photo/send_document: upload the item's file (else use 'file')")
    binary_property: str = Field("data", description="send_photo/send_document: the item's file to upload")
    file: str = Field("", max_length=2048, description="send_photo/send_document without binary: a URL or file_id")
    caption: str = Field("", max_length=1024, description="send_photo/send_document: the caption")

    @model_validator(mode="after")
    def _fits(self) -> TelegramParameters:
        if self.operation not in _OPERATIONS[self.resource]:
            raise ValueError(f"{self.resource} has no operation {self.operation!r} "
                             f"(choose {', '.join(_OPERATIONS[self.resource])})")
        if not self.chat_id:
            raise ValueError(f"{self.resource} {self.operation} needs chat_id")
        if self.operation in ("send_message", "edit_message_text") and not self.text:
            raise ValueError(f"{self.operation} needs text")
        if self.operation == "edit_message_text" and self.message_id is None:
            raise ValueError("edit_message_text needs message_id")
        if self.operation in ("send_photo", "send_document") and not self.binary_data and not self.file:
            raise ValueError(f"{self.operation} needs file (a URL or file_id) when binary_data is off")
        return self


class Telegram(Node):
    """One Bot API call per item."""

    type = "telegram"
    display_name = "Telegram"
    group = "integration"
    icon = "send"
    description = "Send and edit Telegram messages, send photos and documents, read a chat (Bot API)."
    Parameters = TelegramParameters
    credential_slots = {"telegram": ("telegram",)}
    side_effects = True

    async def execute(self, ctx, items):
        login = await ctx.credentials("telegram")
        base = f"{login['api_base_url'].rstrip('/')}/bot{login['bot_token']}"
        async with saas_client(ctx, "Telegram", error_text=_description,
                               retry_after=lambda body: dig(body, "parameters", "retry_after")) as api:
            out: list[dict] = []
            for index, item in enumerate(items):
                try:
                    out.append({"json": await _one(ctx, api, base, ctx.params(index), item, index)})
                except (NodeUserError, NodeTransientError) as exc:
                    exc.item_index = index
                    raise
            return out


def _description(body: Any) -> str | None:
    text = dig(body, "description")
    return str(text) if text else None


async def _one(ctx, api: SaasClient, base: str, p: TelegramParameters, item: dict, index: int) -> dict:
    method = _METHODS[p.operation]
    fields: dict[str, Any] = {"chat_id": p.chat_id}
    if p.operation in ("send_message", "edit_message_text"):
        fields["text"] = p.text
        if p.disable_web_page_preview:
            fields["link_preview_options"] = {"is_disabled": True}
    if p.operation == "edit_message_text":
        fields["message_id"] = p.message_id
    if p.operation != "get":
        if p.parse_mode:
            fields["parse_mode"] = p.parse_mode
        if p.operation != "edit_message_text":
            if p.disable_notification:
                fields["disable_notification"] = True
            if p.reply_to_message_id is not None:
                fields["reply_parameters"] = {"message_id": p.reply_to_message_id}
        if p.reply_markup is not None:
            fields["reply_markup"] = p.reply_markup
    request: dict[str, Any] = {"json": fields}
    if p.operation in ("send_photo", "send_document"):
        field = "photo" if p.operation == "send_photo" else "document"
        if p.caption:
            fields["caption"] = p.caption
        if p.binary_data:
            data, ref = await read_binary(ctx, item, p.binary_property, index)
            name = ref.get("file_name") or f"{p.binary_property}.bin"
            form = {k: v if isinstance(v, str) else _json_text(v) for k, v in fields.items()}
            request = {"data": form, "files": {field: (name, data, ref.get("mime_type") or "application/octet-stream")}}
        else:
            fields[field] = p.file
    answer = await api.call("POST", f"{base}/{method}", label=method, **request)
    if not isinstance(answer, dict) or answer.get("ok") is not True:
        raise NodeUserError(f"Telegram refused {method}: {_description(answer) or 'no description'}")
    result = answer.get("result")
    return result if isinstance(result, dict) else {"result": result}


def _json_text(value: Any) -> str:
    """A multipart form field's text: Telegram reads objects (reply_markup...) in form fields as JSON."""
    return json.dumps(value) if not isinstance(value, bool) else ("true" if value else "false")
