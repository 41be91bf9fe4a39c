"""The Send Email node against a real SMTP server (aiosmtpd on 127.0.0.1, started by each test)."""

from __future__ import annotations

import email
import socket
from email import policy

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult

from nodes.builtin.send_email import SendEmail
from nodes.sdk import NodeUserError
from nodes.sdk.net import AddressRefused
from nodes.sdk.testing import FakeContext, run_context

LOOPBACK = {"http_allow_list": ["127.0.0.1"]}


class _Inbox:
    def __init__(self) -> None:
        self.received: list[tuple[list[str], email.message.EmailMessage]] = []

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802 - aiosmtpd's hook
        if address.startswith("nobody@"):
            return "550 5.1.1 <nobody@example.com>: Recipient address rejected: User unknown"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
        self.received.append((list(envelope.rcpt_tos),
                              email.message_from_bytes(envelope.content, policy=policy.default)))
        return "250 OK"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def server():
    inbox = _Inbox()

    def authenticator(server, session, envelope, mechanism, auth_data):
        return AuthResult(success=(auth_data.login, auth_data.password) == (b"mailer", b"mail-pass"), handled=False)

    controller = Controller(inbox, hostname="127.0.0.1", port=_free_port(), authenticator=authenticator,
                            auth_require_tls=False)
    controller.start()
    yield controller, inbox
    controller.stop()


def _login(controller, password="mail-pass") -> dict:
    return {"host": "127.0.0.1", "port": controller.port, "security": "none", "username": "mailer",
            "password": password}


async def test_html_and_text_with_an_attachment_and_blind_copies(server):
    controller, inbox = server
    ctx = FakeContext(SendEmail, {"from_email": "Shop <shop@example.com>", "to_email": "ada@example.com, bob@example.com",
                                  "bcc": "audit@example.com", "subject": "Your invoice", "format": "both",
                                  "text": "Invoice attached.", "html": "<p>Invoice <b>attached</b>.</p>",
                                  "attachments": "invoice"},
                      credentials={"smtp": _login(controller)}, settings=LOOPBACK)
    ref = await ctx.put_binary(b"%PDF-1.4 test", mime_type="application/pdf", file_name="inv-7.pdf")
    out = (await run_context(SendEmail, ctx, [{"json": {}, "binary": {"invoice": ref}}]))["main"]
    assert out[0]["json"]["accepted"] == ["ada@example.com", "bob@example.com", "audit@example.com"]
    recipients, message = inbox.received[0]
    assert recipients == ["ada@example.com", "bob@example.com", "audit@example.com"]
    assert message["Subject"] == "Your invoice" and "Bcc" not in message
    assert message.get_body(("html",)).get_content().strip() == "<p>Invoice <b>attached</b>.</p>"
    assert message.get_body(("plain",)).get_content().strip() == "Invoice attached."
    (attachment,) = list(message.iter_attachments())
    assert attachment.get_filename() == "inv-7.pdf" and attachment.get_content() == b"%PDF-1.4 test"
    assert message["Message-ID"] == out[0]["json"]["message_id"]


async def test_one_message_per_item(server):
    controller, inbox = server
    ctx = FakeContext(SendEmail, [{"from_email": "a@example.com", "to_email": f"u{i}@example.com",
                                   "subject": f"Hi {i}", "text": "x"} for i in range(3)],
                      credentials={"smtp": _login(controller)}, settings=LOOPBACK)
    await run_context(SendEmail, ctx, [{"json": {}}] * 3)
    assert [m["Subject"] for _, m in inbox.received] == ["Hi 0", "Hi 1", "Hi 2"]


async def test_server_refusals_are_quoted(server):
    controller, inbox = server
    params = {"from_email": "a@example.com", "to_email": "nobody@example.com", "subject": "x", "text": "x"}
    ctx = FakeContext(SendEmail, params, credentials={"smtp": _login(controller)}, settings=LOOPBACK)
    with pytest.raises(NodeUserError, match="refused every recipient .*550 5.1.1 .*User unknown"):
        await run_context(SendEmail, ctx, [{"json": {}}])
    ctx = FakeContext(SendEmail, params, credentials={"smtp": _login(controller, "wrong")}, settings=LOOPBACK)
    with pytest.raises(NodeUserError, match="refused the login for mailer: 535"):
        await run_context(SendEmail, ctx, [{"json": {}}])
    assert inbox.received == []


async def test_header_injection_and_missing_files_are_refused(server):
    controller, _ = server
    with pytest.raises(NodeUserError, match="must be one line"):
        await run_context(SendEmail, FakeContext(
            SendEmail, {"from_email": "a@example.com", "to_email": "b@example.com\r\nBcc: all@example.com"},
            credentials={"smtp": _login(controller)}, settings=LOOPBACK), [{"json": {}}])
    with pytest.raises(NodeUserError, match="has no file 'report' to attach"):
        await run_context(SendEmail, FakeContext(
            SendEmail, {"from_email": "a@example.com", "to_email": "b@example.com", "attachments": "report"},
            credentials={"smtp": _login(controller)}, settings=LOOPBACK), [{"json": {}}])


async def test_loopback_is_refused_without_the_allow_list(server):
    controller, _ = server
    with pytest.raises(AddressRefused):
        await run_context(SendEmail, FakeContext(SendEmail, {"from_email": "a@example.com", "to_email": "b@x.io"},
                                                 credentials={"smtp": _login(controller)}), [{"json": {}}])
