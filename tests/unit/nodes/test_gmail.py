"""The Gmail node against tests/fakes/gmail: a local server answering as the Gmail API v1 documents it (Google
cannot be reached from here, so it is mocked, with its real shapes). The fake decodes each sent ``raw`` message
with the standard library's email parser, so the tests see the headers, bodies and attachments a mail server
would. The OAuth2 credential is the platform's ``oauth2`` type with an access token already issued."""

from __future__ import annotations

import base64
import time
from email.message import EmailMessage

import pytest
from pydantic import SecretStr

from backend.credentials.types.oauth2 import OAuth2, OAuth2Fields
from nodes.builtin.gmail import Gmail
from nodes.sdk import NodeUserError
from nodes.sdk.testing import FakeContext, run_context, run_node
from tests.fakes.gmail.server import TOKEN, FakeGmail

LOOPBACK = {"http_allow_list": ["127.0.0.1"]}


def _login(token: str = TOKEN) -> dict:
    return OAuth2().inject(OAuth2Fields(client_id="linkflow", authorize_url="https://accounts.google.com/o/oauth2/v2/auth",
                                        token_url="https://oauth2.googleapis.com/token",
                                        scope="https://www.googleapis.com/auth/gmail.modify",
                                        access_token=SecretStr(token)))


@pytest.fixture
def gmail():
    with FakeGmail() as server:
        yield server


def _mail(subject: str, sender: str = "ada@example.com", text: str = "Hello", message_id: str = "") -> bytes:
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = sender, "me@example.com", subject
    if message_id:
        message["Message-ID"] = message_id
    message.set_content(text)
    return message.as_bytes()


async def _run(gmail, params, items=None, token=TOKEN):
    out = await run_node(Gmail, items or [{"json": {}}], params={"base_url": gmail.url, **params},
                         credentials={"gmail": _login(token)}, settings=LOOPBACK)
    return out["main"]


async def test_send_builds_an_rfc822_message_with_both_bodies_and_an_attachment(gmail):
    ctx = FakeContext(Gmail, {"base_url": gmail.url, "operation": "send", "send_to": "ada@example.com, Bob <bob@example.com>",
                              "cc": "ops@example.com", "bcc": "audit@example.com", "subject": "Invoice Ünï",
                              "text": "Your invoice is attached.", "html": "<p>Your <b>invoice</b></p>",
                              "attachments": "invoice"},
                      credentials={"gmail": _login()}, settings=LOOPBACK)
    pdf = b"%PDF-1.4\x00\xff binary"
    invoice = await ctx.put_binary(pdf, mime_type="application/pdf", file_name="invoice.pdf")
    out = await run_context(Gmail, ctx, [{"json": {}, "binary": {"invoice": invoice}}])
    [sent] = out["main"]
    assert sent["json"]["labelIds"] == ["SENT"] and sent["json"]["id"] in gmail.messages
    [call] = [c for c in gmail.requests if c.path == "/gmail/v1/users/me/messages/send"]
    assert set(call.json()) == {"raw"} and not {"+", "/"} & set(call.json()["raw"])  # base64url, as Gmail asks
    assert b"Subject: " in base64.urlsafe_b64decode(call.json()["raw"])
    [mime] = gmail.sent
    assert mime["To"] == "ada@example.com, Bob <bob@example.com>" and mime["Cc"] == "ops@example.com"
    assert mime["Bcc"] == "audit@example.com" and mime["Subject"] == "Invoice Ünï"
    assert mime.get_body(("plain",)).get_content().strip() == "Your invoice is attached."
    assert mime.get_body(("html",)).get_content().strip() == "<p>Your <b>invoice</b></p>"
    [attachment] = list(mime.iter_attachments())
    assert attachment.get_filename() == "invoice.pdf" and attachment.get_content_type() == "application/pdf"
    assert attachment.get_payload(decode=True) == pdf


async def test_html_only_and_a_missing_file(gmail):
    await _run(gmail, {"operation": "send", "send_to": "ada@example.com", "subject": "Hi", "html": "<i>hi</i>"})
    assert gmail.sent[0].get_content_type() == "text/html" and gmail.sent[0].get_content().strip() == "<i>hi</i>"
    with pytest.raises(NodeUserError, match="item 0 has no binary data 'report'"):
        await _run(gmail, {"operation": "send", "send_to": "ada@example.com", "text": "x", "attachments": "report"})
    with pytest.raises(NodeUserError, match="needs text or html"):
        await _run(gmail, {"operation": "send", "send_to": "ada@example.com", "subject": "empty"})


@pytest.mark.parametrize("field", ["send_to", "cc", "subject"])
async def test_a_line_break_in_a_header_is_refused(gmail, field):
    params = {"operation": "send", "send_to": "ada@example.com", "subject": "Hi", "text": "x"}
    params[field] = params.get(field, "ops@example.com") + "\r\nBcc: victim@example.com"
    with pytest.raises(NodeUserError, match=f"{field} holds a line break"):
        await _run(gmail, params)
    assert gmail.sent == [] and gmail.requests == []


async def test_reply_threads_under_the_original(gmail):
    original = gmail.add(_mail("Quote request", "Ada <ada@example.com>", message_id="<q1@example.com>"),
                         thread_id="thread-7")
    [out] = await _run(gmail, {"operation": "reply", "message_id": original, "text": "Here it is."})
    assert out["json"]["threadId"] == "thread-7"
    [mime] = gmail.sent
    assert mime["In-Reply-To"] == "<q1@example.com>" and mime["References"] == "<q1@example.com>"
    assert mime["Subject"] == "Re: Quote request" and mime["To"] == "Ada <ada@example.com>"
    assert [c.json().get("threadId") for c in gmail.requests if c.method == "POST"] == ["thread-7"]
    await _run(gmail, {"operation": "reply", "message_id": out["json"]["id"], "send_to": "bob@example.com",
                       "text": "Again"})
    assert gmail.sent[1]["To"] == "bob@example.com" and gmail.sent[1]["Subject"] == "Re: Quote request"


async def test_get_decodes_the_simple_fields_and_attachments_into_binary(gmail):
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = "ada@example.com", "me@example.com", "Report"
    message.set_content("See the report.")
    message.add_alternative("<p>See the report.</p>", subtype="html")
    message.add_attachment(b"a,b\n1,2\n", maintype="text", subtype="csv", filename="report.csv")
    message_id = gmail.add(message.as_bytes())
    ctx = FakeContext(Gmail, {"base_url": gmail.url, "operation": "get", "message_id": message_id,
                              "download_attachments": True}, credentials={"gmail": _login()}, settings=LOOPBACK)
    [item] = (await run_context(Gmail, ctx, [{"json": {}}]))["main"]
    data = item["json"]
    assert data["id"] == message_id and data["labelIds"] == ["INBOX", "UNREAD"] and data["Subject"] == "Report"
    assert data["From"] == "ada@example.com" and data["text"].strip() == "See the report."
    assert data["html"].strip() == "<p>See the report.</p>" and data["snippet"] == "See the report."
    assert data["attachments"] == [{"filename": "report.csv", "mimeType": "text/csv", "size": 8}]
    ref = item["binary"]["attachment_0"]
    assert ref["file_name"] == "report.csv" and await ctx.get_binary(ref) == b"a,b\n1,2\n"
    assert any("/attachments/" in c.path for c in gmail.requests)
    [meta] = await _run(gmail, {"operation": "get", "message_id": message_id, "format": "metadata"})
    assert meta["json"]["Subject"] == "Report" and "text" not in meta["json"] and "binary" not in meta
    latin = EmailMessage()
    latin["Subject"] = "Café"
    latin.set_content("Un café, s'il vous plaît.", charset="latin-1", cte="8bit")
    [cafe] = await _run(gmail, {"operation": "get", "message_id": gmail.add(latin.as_bytes())})
    assert cafe["json"]["text"].strip() == "Un café, s'il vous plaît." and cafe["json"]["Subject"] == "Café"
    [raw] = await _run(gmail, {"operation": "get", "message_id": message_id, "simple": False})
    assert raw["json"]["payload"]["mimeType"] == "multipart/mixed"


async def test_get_all_pages_by_page_token_up_to_the_limit(gmail):
    for n in range(7):
        gmail.add(_mail(f"Order {n}"), labels=["INBOX", "Label_1"] if n % 2 == 0 else ["INBOX"])
    gmail.add(_mail("Newsletter"))
    listed = await _run(gmail, {"operation": "get_all", "q": "order", "return_all": True, "format": "metadata"})
    assert [i["json"]["Subject"] for i in listed] == [f"Order {n}" for n in range(7)]
    limited = await _run(gmail, {"operation": "get_all", "limit": 3, "format": "metadata"})
    assert len(limited) == 3
    labelled = await _run(gmail, {"operation": "get_all", "label_ids": ["Label_1"], "return_all": True})
    assert [i["json"]["Subject"] for i in labelled] == ["Order 0", "Order 2", "Order 4", "Order 6"]
    gmail.requests.clear()
    # the node asks for no more than `limit` per page (test_get_all_follows_next_page_token pages by 2)
    five = await _run(gmail, {"operation": "get_all", "limit": 5, "format": "metadata"})
    assert len(five) == 5
    lists = [c.query for c in gmail.requests if c.path == "/gmail/v1/users/me/messages"]
    assert lists[0]["maxResults"] == "5" and "pageToken" not in lists[0]


async def test_get_all_follows_next_page_token(gmail, monkeypatch):
    for n in range(5):
        gmail.add(_mail(f"Order {n}"))
    monkeypatch.setattr("nodes.builtin.gmail.PAGE_SIZE", 2)
    listed = await _run(gmail, {"operation": "get_all", "return_all": True, "format": "metadata"})
    assert [i["json"]["Subject"] for i in listed] == [f"Order {n}" for n in range(5)]
    tokens = [c.query.get("pageToken") for c in gmail.requests if c.path == "/gmail/v1/users/me/messages"]
    assert tokens == [None, "2", "4"]


async def test_a_429_is_waited_out_as_retry_after_says(gmail):
    gmail.add(_mail("busy day"))
    started = time.monotonic()
    listed = await _run(gmail, {"operation": "get_all", "q": "busy", "format": "metadata"})
    assert time.monotonic() - started >= 1.0 and len(listed) == 1
    assert [c.path for c in gmail.requests if c.method == "GET"][:2] == ["/gmail/v1/users/me/messages"] * 2


async def test_googles_errors_are_named(gmail):
    with pytest.raises(NodeUserError, match=r"Gmail refused POST /gmail/v1/users/me/messages/send \(400\): "
                                            r"INVALID_ARGUMENT: Invalid To header"):
        await _run(gmail, {"operation": "send", "send_to": "not-an-address", "text": "x"})
    with pytest.raises(NodeUserError, match=r"\(404\): NOT_FOUND: Requested entity was not found"):
        await _run(gmail, {"operation": "get", "message_id": "nope"})
    with pytest.raises(NodeUserError, match=r"\(401\): UNAUTHENTICATED: .*check the credential"):
        await _run(gmail, {"operation": "get", "message_id": "nope"}, token="expired")


async def test_delete_mark_and_labels(gmail):
    message_id = gmail.add(_mail("Old"))
    [read] = await _run(gmail, {"operation": "mark_as_read", "message_id": message_id})
    assert read["json"]["labelIds"] == ["INBOX"] and gmail.requests[-1].json() == {"removeLabelIds": ["UNREAD"]}
    [unread] = await _run(gmail, {"operation": "mark_as_unread", "message_id": message_id})
    assert unread["json"]["labelIds"] == ["INBOX", "UNREAD"]
    [deleted] = await _run(gmail, {"operation": "delete", "message_id": message_id})
    assert deleted["json"] == {"success": True, "id": message_id} and message_id not in gmail.messages
    labels = await _run(gmail, {"resource": "label", "operation": "get_all", "return_all": True})
    assert [i["json"]["name"] for i in labels] == ["INBOX", "UNREAD", "SENT", "Invoices"]
    assert len(await _run(gmail, {"resource": "label", "operation": "get_all", "limit": 2})) == 2
    with pytest.raises(NodeUserError, match="label has no operation 'delete'"):
        await _run(gmail, {"resource": "label", "operation": "delete"})
    with pytest.raises(NodeUserError, match="message delete needs message_id"):
        await _run(gmail, {"operation": "delete"})
