"""The Telegram node against tests/fakes/telegram: a local server answering as the Telegram Bot API documents it
(Telegram is a third-party service this machine cannot reach, so it is mocked, with its real shapes)."""

from __future__ import annotations

import time

import pytest

from backend.credentials.types.telegram import Telegram as TelegramCredential
from backend.credentials.types.telegram import TelegramFields
from nodes.builtin.telegram import Telegram
from nodes.sdk import NodeTransientError, NodeUserError
from nodes.sdk.net import AddressRefused
from nodes.sdk.testing import FakeContext, run_context, run_node
from tests.fakes.telegram.server import TOKEN, FakeTelegram

LOOPBACK = {"http_allow_list": ["127.0.0.1"]}


@pytest.fixture
def telegram():
    with FakeTelegram() as server:
        yield server


def _login(telegram: FakeTelegram, token: str = TOKEN) -> dict:
    return TelegramCredential().inject(TelegramFields(bot_token=token, api_base_url=telegram.url))


async def _run(telegram, params, items=None, token=TOKEN):
    out = await run_node(Telegram, items or [{"json": {}}], params=params,
                         credentials={"telegram": _login(telegram, token)}, settings=LOOPBACK)
    return [o["json"] for o in out["main"]]


async def test_send_and_edit_a_message_and_get_the_chat(telegram):
    sent = await _run(telegram, {"chat_id": "42", "text": "Deploy *done*", "parse_mode": "MarkdownV2",
                                 "disable_notification": True, "reply_markup": {"inline_keyboard": []}})
    assert sent[0]["text"] == "Deploy *done*" and sent[0]["chat"]["id"] == 42
    body = telegram.requests[-1].json()
    assert body == {"chat_id": "42", "text": "Deploy *done*", "parse_mode": "MarkdownV2",
                    "disable_notification": True, "reply_markup": {"inline_keyboard": []}}
    edited = await _run(telegram, {"operation": "edit_message_text", "chat_id": "42",
                                   "message_id": sent[0]["message_id"], "text": "Deploy fixed"})
    assert edited[0]["text"] == "Deploy fixed" and edited[0]["edit_date"]
    chat = await _run(telegram, {"resource": "chat", "operation": "get", "chat_id": "42"})
    assert chat == [{"id": 42, "type": "private", "first_name": "Ada", "username": "ada"}]


async def test_a_photo_and_a_document_are_uploaded_from_the_items_file(telegram):
    ctx = FakeContext(Telegram, [{"operation": "send_photo", "chat_id": "42", "caption": "chart"},
                                 {"operation": "send_document", "chat_id": "42", "binary_property": "report"}],
                      credentials={"telegram": _login(telegram)}, settings=LOOPBACK)
    photo = await ctx.put_binary(b"\x89PNG fake", mime_type="image/png", file_name="chart.png")
    report = await ctx.put_binary(b"a,b\n1,2\n", mime_type="text/csv", file_name="report.csv")
    out = await run_context(Telegram, ctx, [{"json": {}, "binary": {"data": photo}},
                                            {"json": {}, "binary": {"report": report}}])
    assert out["main"][0]["json"]["caption"] == "chart" and out["main"][0]["json"]["photo"][0]["file_size"] == 9
    assert [(u["field"], u["file_name"], u["mime_type"], u["data"]) for u in telegram.uploads] == [
        ("photo", "chart.png", "image/png", b"\x89PNG fake"), ("document", "report.csv", "text/csv", b"a,b\n1,2\n")]
    by_url = await _run(telegram, {"operation": "send_photo", "chat_id": "42", "binary_data": False,
                                   "file": "https://example.com/cat.jpg"})
    assert by_url[0]["photo"][0]["file_id"] == "https://example.com/cat.jpg"


async def test_a_missing_file_is_named(telegram):
    with pytest.raises(NodeUserError, match="item 0 has no binary data 'data'"):
        await _run(telegram, {"operation": "send_document", "chat_id": "42"})


async def test_telegrams_description_is_quoted(telegram):
    with pytest.raises(NodeUserError, match=r"Telegram refused POST sendMessage \(400\): Bad Request: chat not found"):
        await _run(telegram, {"chat_id": "7", "text": "x"})
    with pytest.raises(NodeUserError, match=r"\(401\): Unauthorized") as refused:
        await _run(telegram, {"chat_id": "42", "text": "x"}, token="999:wrong")
    assert "999:wrong" not in str(refused.value)  # the token is in the URL: messages never show it
    with pytest.raises(NodeUserError, match="message to edit not found"):
        await _run(telegram, {"operation": "edit_message_text", "chat_id": "42", "message_id": 99, "text": "x"})


async def test_a_429_is_waited_out_as_retry_after_says(telegram):
    started = time.monotonic()
    sent = await _run(telegram, {"chat_id": "-100429", "text": "hello"})
    assert sent[0]["chat"]["title"] == "Busy group"
    assert time.monotonic() - started >= 1.0  # parameters.retry_after: 1
    assert [r.path.rsplit("/", 1)[1] for r in telegram.requests] == ["sendMessage", "sendMessage"]


async def test_a_long_retry_after_is_transient(telegram, monkeypatch):
    import nodes.sdk.saas_http as saas_http

    monkeypatch.setattr(saas_http, "MAX_WAIT_S", 0.5)
    with pytest.raises(NodeTransientError, match="Telegram rate-limited POST sendMessage; it asks to retry after 1 s"):
        await _run(telegram, {"chat_id": "-100429", "text": "x"})


@pytest.mark.parametrize(("params", "message"), [
    ({"chat_id": "42"}, "send_message needs text"),
    ({"text": "x"}, "needs chat_id"),
    ({"resource": "chat", "operation": "send_message", "chat_id": "1", "text": "x"}, "chat has no operation"),
    ({"operation": "edit_message_text", "chat_id": "42", "text": "x"}, "needs message_id"),
    ({"operation": "send_photo", "chat_id": "42", "binary_data": False}, "needs file"),
])
async def test_incomplete_parameters_are_refused(telegram, params, message):
    with pytest.raises(NodeUserError, match=message):
        await _run(telegram, params)


async def test_loopback_is_refused_without_the_allow_list(telegram):
    with pytest.raises(AddressRefused):
        await run_node(Telegram, [{"json": {}}], params={"chat_id": "42", "text": "x"},
                       credentials={"telegram": _login(telegram)})
    assert telegram.requests == []


async def test_the_credential_test_calls_get_me(telegram, monkeypatch):
    monkeypatch.setenv("LINKFLOW_HTTP_ALLOW_LIST", "127.0.0.1")
    from backend.settings import get_settings

    get_settings.cache_clear()
    try:
        good = await TelegramCredential().test(TelegramFields(bot_token=TOKEN, api_base_url=telegram.url))
        bad = await TelegramCredential().test(TelegramFields(bot_token="1:bad", api_base_url=telegram.url))
    finally:
        get_settings.cache_clear()
    assert good.ok and good.message == "authenticated as @linkflow_bot (LinkFlow)"
    assert not bad.ok and bad.message == "Telegram refused the token (401): Unauthorized"
