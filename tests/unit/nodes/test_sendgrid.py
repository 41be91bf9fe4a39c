"""The SendGrid node against tests/fakes/sendgrid: a local server answering as SendGrid's Mail Send API v3
documents it (SendGrid is a third-party service this machine cannot reach, so it is mocked, with its real shapes).
Mail Send does not page, so there is no pagination test."""

from __future__ import annotations

import base64
import time

import pytest

from backend.credentials.types.sendgrid import SendGrid as SendGridCredential
from backend.credentials.types.sendgrid import SendGridFields
from nodes.builtin.sendgrid import SendGrid
from nodes.sdk import NodeTransientError, NodeUserError
from nodes.sdk.testing import FakeContext, run_context, run_node
from tests.fakes.sendgrid.server import API_KEY, SEND_ONLY_KEY, FakeSendGrid

LOOPBACK = {"http_allow_list": ["127.0.0.1"]}
MAIL = {"from_email": "shop@example.com", "to_email": "ada@example.com", "subject": "Your order",
        "content": "Thanks!"}


@pytest.fixture
def sendgrid():
    with FakeSendGrid() as server:
        yield server


def _login(sendgrid, key=API_KEY) -> dict:
    return SendGridCredential().inject(SendGridFields(api_key=key, api_base_url=sendgrid.url))


async def _run(sendgrid, params, key=API_KEY):
    out = await run_node(SendGrid, [{"json": {}}], params=params, credentials={"sendgrid": _login(sendgrid, key)},
                         settings=LOOPBACK)
    return [o["json"] for o in out["main"]]


async def test_an_html_mail_with_attachments_from_the_items_files(sendgrid):
    ctx = FakeContext(SendGrid, {**MAIL, "from_name": "Shop", "to_email": "ada@example.com, bob@example.com",
                                 "cc_email": "ops@example.com", "content_type": "text/html",
                                 "content": "<b>Thanks!</b>", "attachments": "invoice, logo", "categories": ["order"]},
                      credentials={"sendgrid": _login(sendgrid)}, settings=LOOPBACK)
    invoice = await ctx.put_binary(b"%PDF-1.4 fake", mime_type="application/pdf", file_name="invoice.pdf")
    logo = await ctx.put_binary(b"\x89PNG", mime_type="image/png", file_name="logo.png")
    out = await run_context(SendGrid, ctx, [{"json": {}, "binary": {"invoice": invoice, "logo": logo}}])
    assert out["main"] == [{"json": {"message_id": "msg-1", "status": 202}}]
    mail = sendgrid.mails[0]
    assert mail["personalizations"] == [{"to": [{"email": "ada@example.com"}, {"email": "bob@example.com"}],
                                         "cc": [{"email": "ops@example.com"}]}]
    assert mail["from"] == {"email": "shop@example.com", "name": "Shop"} and mail["categories"] == ["order"]
    assert mail["content"] == [{"type": "text/html", "value": "<b>Thanks!</b>"}]
    assert [(a["filename"], a["type"], base64.b64decode(a["content"])) for a in mail["attachments"]] == [
        ("invoice.pdf", "application/pdf", b"%PDF-1.4 fake"), ("logo.png", "image/png", b"\x89PNG")]


async def test_a_dynamic_template(sendgrid):
    await _run(sendgrid, {"from_email": "shop@example.com", "to_email": "ada@example.com", "template_id": "d-123",
                          "dynamic_template_data": {"name": "Ada"}})
    assert sendgrid.mails[0]["template_id"] == "d-123"
    assert sendgrid.mails[0]["personalizations"][0]["dynamic_template_data"] == {"name": "Ada"}


async def test_sendgrids_errors_are_quoted(sendgrid):
    with pytest.raises(NodeUserError, match=r"SendGrid refused POST /v3/mail/send \(400\): The from email does not "
                                            r"contain a valid address. \(field from.email\)"):
        await _run(sendgrid, {**MAIL, "from_email": "not-an-address"})
    with pytest.raises(NodeUserError, match=r"\(401\): The provided authorization grant is invalid"):
        await _run(sendgrid, MAIL, key="SG.wrong")
    with pytest.raises(NodeUserError, match="item 0 has no binary data 'invoice'"):
        await _run(sendgrid, {**MAIL, "attachments": "invoice"})


async def test_a_429_is_waited_out_until_the_rate_limit_resets(sendgrid):
    started = time.monotonic()
    out = await _run(sendgrid, {**MAIL, "to_email": "busy@example.com"})
    assert out[0]["status"] == 202 and len(sendgrid.requests) == 2
    assert time.monotonic() - started >= 1.0  # X-RateLimit-Reset: the epoch second 2 s after the 429


async def test_a_long_wait_is_transient(sendgrid, monkeypatch):
    import nodes.sdk.saas_http as saas_http

    monkeypatch.setattr(saas_http, "TRIES", 1)
    with pytest.raises(NodeTransientError, match="SendGrid rate-limited POST /v3/mail/send; it asks to retry after"):
        await _run(sendgrid, {**MAIL, "to_email": "busy@example.com"})


@pytest.mark.parametrize(("params", "message"), [
    ({**MAIL, "content": ""}, "needs content or a template_id"),
    ({**MAIL, "subject": ""}, "needs a subject"),
])
async def test_incomplete_parameters_are_refused(sendgrid, params, message):
    with pytest.raises(NodeUserError, match=message):
        await _run(sendgrid, params)


async def test_the_credential_test_reads_the_scopes(sendgrid, monkeypatch):
    monkeypatch.setenv("LINKFLOW_HTTP_ALLOW_LIST", "127.0.0.1")
    from backend.settings import get_settings

    get_settings.cache_clear()
    try:
        good = await SendGridCredential().test(SendGridFields(api_key=API_KEY, api_base_url=sendgrid.url))
        weak = await SendGridCredential().test(SendGridFields(api_key=SEND_ONLY_KEY, api_base_url=sendgrid.url))
        bad = await SendGridCredential().test(SendGridFields(api_key="SG.x", api_base_url=sendgrid.url))
    finally:
        get_settings.cache_clear()
    assert good.ok and "may send mail" in good.message
    assert not weak.ok and "lacks the mail.send permission" in weak.message
    assert not bad.ok and "401: The provided authorization grant is invalid" in bad.message
