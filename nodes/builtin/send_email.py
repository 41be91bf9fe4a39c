"""The Send Email node: one message per item through the SMTP server of the ``smtp`` credential.

Like n8n's Send Email node: ``from_email``, ``to_email`` (several: comma-separated), ``cc``, ``bcc``,
``reply_to``, ``subject``, a ``format`` of text, html or both (a multipart/alternative message), and
``attachments``: names of the item's files (comma-separated), attached with their file name and type.
Addresses and the subject may not hold line breaks (header injection is refused). The output item is
``{"message_id", "accepted", "rejected"}``. A recipient or a message the server refuses for good (5xx) is
a user error quoting the server's answer; a 4xx answer, a lost connection or a timeout is transient, so
the node's retry settings apply. The server's address is checked against the address policy and pinned;
with ``starttls`` and ``tls`` the certificate is checked against the server's name.
"""

from __future__ import annotations

import asyncio
import smtplib
import socket
import ssl
from email.message import EmailMessage
from email.utils import getaddresses, make_msgid
from typing import Literal

from pydantic import Field, field_validator

from nodes.sdk import Node, NodeParameters, NodeTransientError, NodeUserError, show_if
from nodes.sdk.net import AddressPolicy, checked_addresses_async, open_connection

TIMEOUT_S = 30
MAX_ATTACHMENT_BYTES = 25 * 1024 * 1024


class SendEmailParameters(NodeParameters):
    from_email: str = Field(min_length=3, max_length=500, description='Sender, e.g. "Shop <shop@example.com>"')
    to_email: str = Field(min_length=3, max_length=10_000, description="Recipients, comma-separated")
    cc: str = Field("", max_length=10_000, description="Copy to, comma-separated")
    bcc: str = Field("", max_length=10_000, description="Blind copy to, comma-separated (not in the headers)")
    reply_to: str = Field("", max_length=500, description="Where replies go")
    subject: str = Field("", max_length=2_000, description="Subject line")
    format: Literal["text", "html", "both"] = Field("text", description="Plain text, HTML, or both")
    text: str = Field("", max_length=5_000_000, description="text/both: the plain-text body",
                      json_schema_extra=show_if(format=["text", "both"]))
    html: str = Field("", max_length=5_000_000, description="html/both: the HTML body",
                      json_schema_extra=show_if(format=["html", "both"]))
    attachments: str = Field("", description="Names of the item's files to attach, comma-separated, e.g. 'data'")

    @field_validator("from_email", "to_email", "cc", "bcc", "reply_to", "subject")
    @classmethod
    def _one_line(cls, value: str) -> str:
        if "\r" in value or "\n" in value:
            raise ValueError("must be one line (a line break here could add mail headers)")
        return value


class SendEmail(Node):
    """Sends one email per item."""

    type = "send_email"
    display_name = "Send Email"
    group = "integration"
    icon = "mail"
    description = "Send an email (text or HTML, with attachments) through an SMTP server."
    Parameters = SendEmailParameters
    credential_slots = {"smtp": ("smtp",)}
    side_effects = True

    async def execute(self, ctx, items):
        login = await ctx.credentials("smtp")
        addresses = await checked_addresses_async(login["host"], login["port"],
                                                  AddressPolicy.from_settings(ctx.settings))
        messages = []
        for index, item in enumerate(items):
            p = ctx.params(index)
            messages.append((await _message(ctx, p, item, index), _recipients(p, index)))
        return await asyncio.to_thread(_send_all, login, addresses, messages)


def _addresses(text: str) -> list[str]:
    return [address for _, address in getaddresses([text]) if address]


def _recipients(p: SendEmailParameters, index: int) -> list[str]:
    recipients = _addresses(p.to_email) + _addresses(p.cc) + _addresses(p.bcc)
    bad = [r for r in recipients if "@" not in r]
    if not recipients or bad:
        raise NodeUserError(f"item {index}: {bad[0] if bad else p.to_email!r} is not an email address",
                            item_index=index)
    return recipients


async def _message(ctx, p: SendEmailParameters, item: dict, index: int) -> EmailMessage:
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = p.from_email, p.to_email, p.subject
    if p.cc:
        message["Cc"] = p.cc
    if p.reply_to:
        message["Reply-To"] = p.reply_to
    message["Message-ID"] = make_msgid(domain=(_addresses(p.from_email) or ["x@linkflow"])[0].split("@")[-1])
    if p.format == "html":
        message.set_content(p.html, subtype="html")
    else:
        message.set_content(p.text)
        if p.format == "both":
            message.add_alternative(p.html, subtype="html")
    for name in (n.strip() for n in p.attachments.split(",") if n.strip()):
        ref = (item.get("binary") or {}).get(name)
        if ref is None:
            raise NodeUserError(f"item {index} has no file {name!r} to attach", item_index=index)
        if (ref.get("size") or 0) > MAX_ATTACHMENT_BYTES:
            raise NodeUserError(f"item {index}: file {name!r} is larger than {MAX_ATTACHMENT_BYTES:,} bytes",
                                item_index=index)
        maintype, _, subtype = (ref.get("mime_type") or "application/octet-stream").partition("/")
        message.add_attachment(await ctx.get_binary(ref), maintype=maintype, subtype=subtype or "octet-stream",
                               filename=ref.get("file_name") or name)
    return message


def _send_all(login: dict, addresses: list[str], messages: list) -> list[dict]:
    where = f"SMTP {login['host']}:{login['port']}"
    try:
        with _connect(login, addresses) as smtp:
            smtp.ehlo()
            if login["security"] == "starttls":
                smtp.starttls(context=ssl.create_default_context())
                smtp.ehlo()
            if login.get("username"):
                smtp.login(login["username"], login.get("password") or "")
            return [_send_one(smtp, message, recipients, index, where)
                    for index, (message, recipients) in enumerate(messages)]
    except smtplib.SMTPAuthenticationError as exc:
        raise NodeUserError(f"{where} refused the login for {login['username']}: {_said(exc)}") from None
    except smtplib.SMTPNotSupportedError as exc:
        raise NodeUserError(f"{where}: {exc}; check the credential's security setting") from None
    except (smtplib.SMTPServerDisconnected, smtplib.SMTPConnectError, TimeoutError, OSError) as exc:
        raise NodeTransientError(f"{where}: {type(exc).__name__}: {exc}") from None


def _send_one(smtp: smtplib.SMTP, message: EmailMessage, recipients: list[str], index: int, where: str) -> dict:
    try:
        rejected = smtp.send_message(message, to_addrs=recipients)
    except smtplib.SMTPRecipientsRefused as exc:
        said = "; ".join(f"{who}: {code} {text.decode(errors='replace')}" for who, (code, text) in
                         exc.recipients.items())
        raise NodeUserError(f"item {index}: {where} refused every recipient ({said})", item_index=index) from None
    except smtplib.SMTPResponseException as exc:
        error = NodeTransientError if 400 <= exc.smtp_code < 500 else NodeUserError
        raise error(f"item {index}: {where} refused the message: {_said(exc)}", item_index=index) from None
    return {"json": {"message_id": message["Message-ID"],
                     "accepted": [r for r in recipients if r not in rejected],
                     "rejected": {who: f"{code} {text.decode(errors='replace')}"
                                  for who, (code, text) in rejected.items()}}}


def _said(exc: smtplib.SMTPResponseException) -> str:
    text = exc.smtp_error.decode(errors="replace") if isinstance(exc.smtp_error, bytes) else str(exc.smtp_error)
    return f"{exc.smtp_code} {text}"


def _connect(login: dict, addresses: list[str]) -> smtplib.SMTP:
    if login["security"] == "tls":
        smtp: smtplib.SMTP = _PinnedSSL(addresses, timeout=TIMEOUT_S, context=ssl.create_default_context())
    else:
        smtp = _Pinned(addresses, timeout=TIMEOUT_S)
    smtp.connect(login["host"], login["port"])  # the name, kept for TLS; the socket goes to a checked address
    return smtp


class _Pinned(smtplib.SMTP):
    def __init__(self, addresses: list[str], **kwargs) -> None:
        self.addresses = addresses
        super().__init__(**kwargs)

    def _get_socket(self, host: str, port: int, timeout: float) -> socket.socket:
        return open_connection(self.addresses, port, timeout)


class _PinnedSSL(smtplib.SMTP_SSL):
    def __init__(self, addresses: list[str], **kwargs) -> None:
        self.addresses = addresses
        super().__init__(**kwargs)

    def _get_socket(self, host: str, port: int, timeout: float) -> socket.socket:
        return self.context.wrap_socket(open_connection(self.addresses, port, timeout), server_hostname=host)
