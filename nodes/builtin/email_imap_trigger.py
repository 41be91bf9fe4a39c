"""The Email Trigger (IMAP): every new email in a mailbox starts an execution.

Like n8n's Email Trigger (IMAP): ``mailbox`` (INBOX), ``post_process_action`` (``read``: mark the email as read
once its execution is queued; ``nothing``), ``format`` (``simple``: the headers as fields plus ``textPlain`` and
``textHtml``; ``resolved``: parsed addresses, date, text, html and the attachments; ``raw``: the whole message
source), ``download_attachments`` (simple; resolved always does) storing each file as the item's binary
``<attachment_prefix><n>`` through the storage service, and ``custom_email_config``, node-imap's search criteria
as JSON (default ``["UNSEEN"]``, e.g. ``["UNSEEN", ["SINCE", "2024-05-20"], ["FROM", "shop@example.com"]]``).

Waiting: IDLE when the server offers it (news within a second), else a poll every ``poll_interval_s``.
No email is lost or run twice across a restart: the node remembers the mailbox's UIDVALIDITY and the UID of the
last email it queued, saved in the same commit as that email's execution; emails are read with BODY.PEEK and
marked read only after their execution is queued (a process killed between the two marks it at the next
start, without running it again). If the mailbox's UIDVALIDITY changes (the server renumbered it), every
email matching the criteria counts as new. Emails larger than ``max_message_mb`` give an item with their
headers only (``attributes.complete`` false). The server's address is checked against the address policy.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from typing import Literal

from pydantic import Field, field_validator

from nodes.builtin import _mail
from nodes.builtin._imap import ImapSession, search_criteria
from nodes.sdk import Node, NodeParameters, TriggerSpec
from nodes.sdk.net import AddressPolicy, checked_addresses_async

STOP_WAIT_S = 35  # a blocking IMAP step in flight when the listener stops ends within its timeout
MB = 1024 * 1024


class EmailReadImapParameters(NodeParameters):
    mailbox: str = Field("INBOX", min_length=1, max_length=500, description="The mailbox (folder) to watch")
    post_process_action: Literal["read", "nothing"] = Field(
        "read", description="After an email's execution is queued: mark it as read, or leave it as it is")
    format: Literal["simple", "resolved", "raw"] = Field(
        "simple", description="simple: headers, textPlain, textHtml; resolved: parsed addresses, text, html and "
                              "attachments; raw: the whole message source")
    download_attachments: bool = Field(False, description="simple: store the attachments as the item's files "
                                                          "(resolved always does)")
    attachment_prefix: str = Field("attachment_", max_length=100, pattern=r"^[A-Za-z0-9_.-]*$",
                                   description="Files are named <prefix>0, <prefix>1, ...")
    custom_email_config: str = Field('["UNSEEN"]', max_length=5000,
                                     description='Search criteria as JSON (node-imap\'s form), e.g. '
                                                 '["UNSEEN", ["SINCE", "2024-05-20"], ["FROM", "a@example.com"]]')
    use_idle: bool = Field(True, description="Wait with IDLE when the server offers it (else poll)")
    poll_interval_s: int = Field(60, ge=1, le=3600, description="Seconds between checks without IDLE")
    max_message_mb: int = Field(25, ge=1, le=200, description="Larger emails give their headers only")

    @field_validator("custom_email_config")
    @classmethod
    def _criteria(cls, value: str) -> str:
        search_criteria(value)  # ValueError says what is wrong
        return value

    @field_validator("mailbox")
    @classmethod
    def _mailbox(cls, value: str) -> str:
        if not value.isascii() or any(c in value for c in "\r\n\0"):
            raise ValueError("the mailbox name must be one line of ASCII, e.g. 'INBOX' or 'Orders/2024'")
        return value


class EmailReadImap(Node):
    type = "email_read_imap"
    display_name = "Email Trigger (IMAP)"
    group = "trigger"
    icon = "mail"
    description = ("Starts the workflow for every new email in an IMAP mailbox (IDLE, or polling), while the "
                   "workflow is active; marks it read once its execution is queued.")
    inputs = ()
    trigger = TriggerSpec(kind="listener")
    Parameters = EmailReadImapParameters
    credential_slots = {"imap": ("imap",)}
    side_effects = False

    async def execute(self, ctx, items):
        if any(item.get("json") for item in items):
            return items
        return [{"json": {"from": "", "to": "", "subject": "", "textPlain": "", "textHtml": None,
                          "attributes": {"uid": 0, "flags": [], "size": 0, "complete": True}}}]

    async def listen(self, ctx) -> None:
        p: EmailReadImapParameters = ctx.params
        login = await ctx.credentials("imap")
        addresses = await checked_addresses_async(login["host"], login["port"],
                                                  AddressPolicy.from_settings(ctx.settings))
        session = ImapSession(login, addresses)
        steps = _Steps()
        stop = threading.Event()
        mark_read = p.post_process_action == "read"
        try:
            await steps.run(session.open)
            validity = await steps.run(session.select_mailbox, p.mailbox, not mark_read)
            last_uid = _resume(await ctx.load_state(), p.mailbox, validity)
            if last_uid and mark_read:  # queued just before a crash, not yet marked: mark it, don't run it again
                await steps.run(session.mark_seen, last_uid)
            idle = p.use_idle and session.can_idle
            ctx.listening(f"watching {p.mailbox} on {session.where} as {login['user']} "
                          f"({'IDLE' if idle else f'polling every {p.poll_interval_s}s'})")
            criteria = search_criteria(p.custom_email_config)
            while True:
                for uid in await steps.run(session.search, criteria, last_uid):
                    fetched = await steps.run(session.fetch, uid, p.max_message_mb * MB)
                    if fetched is not None:
                        item = await _item(ctx, fetched, p)
                        await ctx.emit([item], state={"mailbox": p.mailbox, "uidvalidity": validity,
                                                      "last_uid": uid})  # durably queued first ...
                        if mark_read:
                            await steps.run(session.mark_seen, uid)  # ... then acknowledged
                    last_uid = uid
                await steps.run(session.wait_for_news, stop, idle=idle, poll_s=p.poll_interval_s)
        finally:
            stop.set()
            await steps.settle()
            await asyncio.to_thread(session.close)


def _resume(state: dict, mailbox: str, validity: int) -> int:
    """The last UID queued from this mailbox, or 0 when there is none (first start, another mailbox, or the
    server renumbered the mailbox: a new UIDVALIDITY makes the old UIDs meaningless)."""
    if state.get("mailbox") == mailbox and state.get("uidvalidity") == validity:
        return int(state.get("last_uid") or 0)
    return 0


class _Steps:
    """Blocking IMAP steps, one at a time in a thread. A cancelled listener waits for the step in flight
    (``settle``) before the connection is closed, so two threads never share the socket."""

    def __init__(self) -> None:
        self.current: asyncio.Future | None = None

    async def run(self, function, *args, **kwargs):
        self.current = asyncio.ensure_future(asyncio.to_thread(function, *args, **kwargs))
        return await asyncio.shield(self.current)

    async def settle(self) -> None:
        if self.current is not None and not self.current.done():
            with contextlib.suppress(Exception, asyncio.CancelledError):
                await asyncio.wait_for(asyncio.shield(self.current), STOP_WAIT_S)


async def _item(ctx, fetched, p: EmailReadImapParameters) -> dict:
    attributes = {"uid": fetched.uid, "flags": fetched.flags, "size": fetched.size, "complete": fetched.complete}
    if p.format == "raw":
        return {"json": {"raw": fetched.raw.decode("utf-8", "replace"), "attributes": attributes}}
    files = p.format == "resolved" or p.download_attachments
    mail = await asyncio.to_thread(_mail.parse_mail, fetched.raw, with_attachments=files)
    binary, listed = {}, []
    for index, attachment in enumerate(mail.attachments):
        name = f"{p.attachment_prefix}{index}"
        binary[name] = await ctx.put_binary(attachment.data, mime_type=attachment.mime_type,
                                            file_name=attachment.file_name)
        listed.append({"filename": attachment.file_name, "contentType": attachment.mime_type,
                       "size": len(attachment.data), "binaryProperty": name})
    json = _simple(mail) if p.format == "simple" else _resolved(mail, listed)
    json["attributes"] = attributes
    if mail.problems:
        json["errors"] = mail.problems
    return {"json": json, "binary": binary} if binary else {"json": json}


def _simple(mail: _mail.ParsedMail) -> dict:
    return {**mail.headers, "textPlain": mail.text, "textHtml": mail.html}


def _resolved(mail: _mail.ParsedMail, attachments: list[dict]) -> dict:
    h = mail.headers
    return {"headers": h, "subject": h.get("subject"), "date": _mail.iso_date(h.get("date")),
            "messageId": h.get("message-id"), "inReplyTo": h.get("in-reply-to"), "references": h.get("references"),
            "from": _mail.addresses(h.get("from")), "to": _mail.addresses(h.get("to")),
            "cc": _mail.addresses(h.get("cc")), "bcc": _mail.addresses(h.get("bcc")),
            "replyTo": _mail.addresses(h.get("reply-to")), "text": mail.text, "html": mail.html,
            "attachments": attachments}
