"""The Gmail node: send, reply to, read, list, delete and mark messages, list labels (Gmail API v1).

Shaped like n8n's Gmail node v2, with the ``oauth2`` credential (authorization-code flow with refresh; set the
provider's endpoints ``https://accounts.google.com/o/oauth2/v2/auth?access_type=offline&prompt=consent`` (the
query makes Google issue a refresh token) and ``https://oauth2.googleapis.com/token``
and the scope ``https://www.googleapis.com/auth/gmail.modify``). Calls go to ``base_url``
(``https://gmail.googleapis.com/gmail/v1``; a test points it at tests/fakes/gmail):

* message ``send``: ``send_to`` / ``cc`` / ``bcc`` (comma-separated), ``subject``, ``text`` and/or ``html`` (both:
  a multipart/alternative), ``attachments`` (names of the item's files, comma-separated), built as an RFC 822
  message with the standard library's ``email`` package and sent base64url-encoded as ``raw`` to
  ``POST /users/me/messages/send``. A line break in an address or the subject is refused (header injection);
* message ``reply``: the same body in the thread of ``message_id``: its ``threadId``, ``In-Reply-To`` and
  ``References`` from the original's ``Message-ID``, ``Re: subject``, to its ``Reply-To`` or ``From`` unless
  ``send_to`` is given;
* message ``get``: ``format`` ``full`` or ``metadata``; with ``simple`` (the default) decoded into n8n's fields
  (``id``, ``threadId``, ``labelIds``, ``From``, ``To``, ``Cc``, ``Subject``, ``Date``, ``snippet``, ``text``,
  ``html``, ``attachments`` names), else Gmail's own JSON; ``download_attachments`` puts each attachment into the
  item's binary data as ``attachment_0``, ``attachment_1``...;
* message ``get_all``: ``q`` (Gmail's search syntax), ``label_ids``, ``include_spam_trash``, ``return_all`` or
  ``limit``, paged by ``pageToken``; each message is then read as ``get`` reads it;
* message ``delete`` (for good, not to the trash), ``mark_as_read`` / ``mark_as_unread`` (the ``UNREAD`` label);
* label ``get_all``.

Errors name Google's status and message (``Gmail refused POST /gmail/v1/users/me/messages/send (400):
INVALID_ARGUMENT: Invalid To header``); a 429 is waited out as ``Retry-After`` says (2 s when absent), up to 30 s
and 3 tries, then reported as transient.
"""

from __future__ import annotations

import base64
import binascii
from email.message import EmailMessage, Message
from email.policy import SMTP
from typing import Any, Literal
from urllib.parse import quote

from pydantic import Field, model_validator

from nodes.builtin._files import binary_ref
from nodes.sdk import Node, NodeParameters, NodeUserError
from nodes.sdk.jsonapi import MAX_ITEMS, JsonApi, check_operation, collect, per_item, require

GMAIL_API = "https://gmail.googleapis.com/gmail/v1"
PAGE_SIZE = 500  # users.messages.list's largest maxResults
MAX_MESSAGE_BYTES = 35 * 1024 * 1024  # Gmail's limit for a message sent through the API
OPERATIONS = {"message": ("send", "reply", "get", "get_all", "delete", "mark_as_read", "mark_as_unread"),
              "label": ("get_all",)}
_REPLY_HEADERS = ["Message-ID", "Subject", "From", "Reply-To", "References"]


class GmailParameters(NodeParameters):
    resource: Literal["message", "label"] = Field("message", description="What to work with")
    operation: Literal["send", "reply", "get", "get_all", "delete", "mark_as_read", "mark_as_unread"] = Field(
        "send", description="message: send, reply, get, get_all, delete, mark_as_read, mark_as_unread; "
                            "label: get_all")
    message_id: str = Field("", max_length=200, description="reply/get/delete/mark: the message's id")
    send_to: str = Field("", max_length=10_000, description="send/reply: recipients, comma-separated "
                                                            "(reply: the original's sender when empty)")
    cc: str = Field("", max_length=10_000, description="send/reply: copy to, comma-separated")
    bcc: str = Field("", max_length=10_000, description="send/reply: blind copy to, comma-separated")
    subject: str = Field("", max_length=998, description="send: the subject (reply: 'Re: ' + the original's)")
    text: str = Field("", max_length=10_000_000, description="send/reply: the plain-text body")
    html: str = Field("", max_length=10_000_000, description="send/reply: the HTML body")
    attachments: str = Field("", max_length=1000, description="send/reply: names of the item's files to attach, "
                                                              "comma-separated")
    format: Literal["full", "metadata"] = Field("full", description="get/get_all: full (bodies) or metadata "
                                                                    "(headers only)")
    simple: bool = Field(True, description="get/get_all: n8n's simplified fields instead of Gmail's JSON")
    download_attachments: bool = Field(False, description="get/get_all (full): attachments into binary data")
    attachment_prefix: str = Field("attachment_", min_length=1, max_length=100,
                                   description="get/get_all: binary property prefix for the attachments")
    q: str = Field("", max_length=2000, description="get_all: Gmail search, e.g. from:ada is:unread")
    label_ids: list[str] = Field(default_factory=list, max_length=100, description="get_all: only messages "
                                                                                   "with all these labels")
    include_spam_trash: bool = Field(False, description="get_all: include SPAM and TRASH")
    return_all: bool = Field(False, description="get_all: every match (up to 10,000)")
    limit: int = Field(50, ge=1, le=MAX_ITEMS, description="get_all: at most this many")
    base_url: str = Field(GMAIL_API, max_length=500, description="The Gmail API's base URL")

    @model_validator(mode="after")
    def _fits(self) -> GmailParameters:
        check_operation(self.resource, self.operation, OPERATIONS)
        if self.resource == "message" and self.operation not in ("send", "get_all"):
            require(self, ("message_id",))
        if self.operation == "send":
            require(self, ("send_to",))
        if self.operation in ("send", "reply") and not (self.text or self.html):
            raise ValueError(f"message {self.operation} needs text or html (or both)")
        for name in ("send_to", "cc", "bcc", "subject"):
            if any(ch in getattr(self, name) for ch in "\r\n"):
                raise ValueError(f"{name} holds a line break; a mail header cannot (it would let the value add "
                                 "headers): remove it")
        if not self.base_url.lower().startswith(("http://", "https://")):
            raise ValueError("base_url must start with https://")
        return self


class Gmail(Node):
    """One Gmail API call (or a few: reply reads the original, get_all reads each message) per item."""

    type = "gmail"
    display_name = "Gmail"
    group = "integration"
    icon = "mail"
    description = "Send, reply to, read, list, delete and mark Gmail messages; list labels."
    Parameters = GmailParameters
    credential_slots = {"gmail": ("oauth2",)}
    side_effects = True

    async def execute(self, ctx, items):
        login = await ctx.credentials("gmail")
        try:
            base = ctx.params(0).base_url if items else GMAIL_API
        except NodeUserError as exc:
            exc.item_index = 0
            raise
        async with JsonApi.open(ctx, "Gmail", base, login.get("headers") or {}, default_wait_s=2) as api:
            index = iter(range(len(items)))

            async def one(p: GmailParameters) -> list[dict]:
                i = next(index)
                if p.base_url.rstrip("/") != api.base:
                    raise NodeUserError("base_url must be the same for every item of one run")
                return await _one(ctx, api, p, items[i], i)

            return await per_item(ctx, items, one)


async def _one(ctx, api: JsonApi, p: GmailParameters, item: dict, index: int) -> list[dict]:
    if p.resource == "label":
        labels = (await api.json("GET", "/users/me/labels")).get("labels") or []
        return [{"json": label} for label in (labels if p.return_all else labels[:p.limit])]
    path = f"/users/me/messages/{quote(p.message_id, safe='')}"
    if p.operation in ("send", "reply"):
        body: dict[str, Any] = {}
        message = await _compose(ctx, p, item, index)
        if p.operation == "reply":
            original = await api.json("GET", path, params={"format": "metadata",
                                                           "metadataHeaders": _REPLY_HEADERS})
            headers = _headers(original.get("payload") or {})
            _thread(message, headers, p)
            body["threadId"] = original.get("threadId")
        body["raw"] = base64.urlsafe_b64encode(message.as_bytes()).decode()
        return [{"json": await api.json("POST", "/users/me/messages/send", json=body)}]
    if p.operation == "get":
        return [await _read(ctx, api, p, p.message_id)]
    if p.operation == "get_all":
        query: dict[str, Any] = {"includeSpamTrash": str(p.include_spam_trash).lower()}
        if p.q:
            query["q"] = p.q
        if p.label_ids:
            query["labelIds"] = p.label_ids
        limit = MAX_ITEMS if p.return_all else p.limit

        async def page(token):
            answer = await api.json("GET", "/users/me/messages", params={
                **query, "maxResults": min(PAGE_SIZE, limit), **({"pageToken": token} if token else {})})
            return answer.get("messages") or [], answer.get("nextPageToken")

        found = await collect(page, limit)
        return [await _read(ctx, api, p, m["id"]) for m in found]
    if p.operation == "delete":
        await api.json("DELETE", path)
        return [{"json": {"success": True, "id": p.message_id}}]
    change = "removeLabelIds" if p.operation == "mark_as_read" else "addLabelIds"
    return [{"json": await api.json("POST", path + "/modify", json={change: ["UNREAD"]})}]


async def _compose(ctx, p: GmailParameters, item: dict, index: int) -> EmailMessage:
    message = EmailMessage(policy=SMTP)
    try:
        for header, value in (("To", p.send_to), ("Cc", p.cc), ("Bcc", p.bcc), ("Subject", p.subject)):
            if value:
                message[header] = value
    except (ValueError, TypeError) as exc:
        raise NodeUserError(f"a header of the message is not valid: {exc}") from None
    if p.text:
        message.set_content(p.text)
        if p.html:
            message.add_alternative(p.html, subtype="html")
    else:
        message.set_content(p.html, subtype="html")
    total = 0
    for name in (n.strip() for n in p.attachments.split(",") if n.strip()):
        ref = binary_ref(item, name, index, MAX_MESSAGE_BYTES)
        data = await ctx.get_binary(ref)
        total += len(data)
        if total > MAX_MESSAGE_BYTES:
            raise NodeUserError(f"the attachments are over {MAX_MESSAGE_BYTES // 2**20} MB, Gmail's limit for one "
                                "message sent through the API", item_index=index)
        maintype, _, subtype = (ref.get("mime_type") or "application/octet-stream").partition("/")
        message.add_attachment(data, maintype=maintype or "application", subtype=subtype or "octet-stream",
                               filename=ref.get("file_name") or name)
    return message


def _thread(message: EmailMessage, original: dict[str, str], p: GmailParameters) -> None:
    """The reply's threading headers and defaults from the original's headers."""
    message_id = original.get("message-id", "")
    if message_id:
        message["In-Reply-To"] = message_id
        message["References"] = " ".join(x for x in (original.get("references", ""), message_id) if x)
    if not p.subject:
        subject = original.get("subject", "")
        message["Subject"] = subject if subject.lower().startswith("re:") else f"Re: {subject}".strip()
    if not p.send_to:
        to = original.get("reply-to") or original.get("from")
        if not to:
            raise NodeUserError("the original message has no From header to reply to; give send_to")
        message["To"] = to


def _headers(part: dict) -> dict[str, str]:
    return {str(h.get("name", "")).lower(): str(h.get("value", "")) for h in part.get("headers") or []}


def _b64(data: str) -> bytes:
    try:
        return base64.urlsafe_b64decode(data + "=" * (-len(data) % 4))
    except (binascii.Error, ValueError):
        raise NodeUserError("Gmail answered a body that is not base64url; check base_url") from None


def _text(data: bytes, content_type: str) -> str:
    """A body part's text in the charset its Content-Type names (UTF-8 when none or unknown)."""
    charset = Message()
    charset["Content-Type"] = content_type or "text/plain"
    try:
        return data.decode(charset.get_content_charset() or "utf-8", "replace")
    except LookupError:
        return data.decode("utf-8", "replace")


def _parts(part: dict):
    yield part
    for child in part.get("parts") or []:
        yield from _parts(child)


async def _read(ctx, api: JsonApi, p: GmailParameters, message_id: str) -> dict:
    message = await api.json("GET", f"/users/me/messages/{quote(message_id, safe='')}",
                             params={"format": p.format})
    payload = message.get("payload") or {}
    binary: dict[str, dict] = {}
    attachments: list[dict] = []
    bodies: dict[str, str] = {}
    for part in _parts(payload):
        body = part.get("body") or {}
        if part.get("filename"):
            attachments.append({"filename": part["filename"], "mimeType": part.get("mimeType", ""),
                                "size": body.get("size", 0)})
            if p.download_attachments and p.format == "full":
                if body.get("attachmentId"):
                    data = (await api.json("GET", f"/users/me/messages/{quote(message_id, safe='')}/attachments/"
                                                  f"{quote(body['attachmentId'], safe='')}")).get("data", "")
                else:
                    data = body.get("data", "")
                binary[f"{p.attachment_prefix}{len(binary)}"] = await ctx.put_binary(
                    _b64(data), mime_type=part.get("mimeType") or "application/octet-stream",
                    file_name=part["filename"])
        elif part.get("mimeType") in ("text/plain", "text/html") and body.get("data"):
            kind = "text" if part["mimeType"] == "text/plain" else "html"
            bodies.setdefault(kind, _text(_b64(body["data"]), _headers(part).get("content-type", "")))
    out: dict[str, Any] = {"json": message}
    if p.simple:
        headers = {h.get("name"): h.get("value") for h in payload.get("headers") or []}
        simple = {"id": message.get("id"), "threadId": message.get("threadId"),
                  "labelIds": message.get("labelIds") or [], "snippet": message.get("snippet", ""),
                  "sizeEstimate": message.get("sizeEstimate")}
        for name in ("From", "To", "Cc", "Subject", "Date"):
            if headers.get(name) is not None:
                simple[name] = headers[name]
        if p.format == "full":
            simple.update(text=bodies.get("text", ""), html=bodies.get("html", ""), attachments=attachments)
        out["json"] = simple
    if binary:
        out["binary"] = binary
    return out
