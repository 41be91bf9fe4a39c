"""nodes/sdk/saas_http.py, the helper the SaaS nodes share, against a local HTTP server (tests/fakes/http_fake.py)
answering what each test needs."""

from __future__ import annotations

import email.utils
import time

import pytest

import nodes.sdk.saas_http as saas_http
from nodes.builtin.noop import NoOp
from nodes.sdk import NodeTransientError, NodeUserError
from nodes.sdk.net import AddressRefused
from nodes.sdk.saas_http import collect, saas_client
from nodes.sdk.testing import FakeContext
from tests.fakes.http_fake import FakeApi, Request


class Scripted(FakeApi):
    """Answers the queued (status, headers, body) in order; then 200 {"ok": true}."""

    def __init__(self, *answers) -> None:
        super().__init__()
        self.queue = list(answers)

    def answer(self, request: Request):
        return self.queue.pop(0) if self.queue else (200, {}, {"ok": True})


def _ctx(settings=None):
    return FakeContext(NoOp, settings={"http_allow_list": ["127.0.0.1"]} if settings is None else settings)


async def test_a_retry_after_http_date_is_waited_out():
    when = email.utils.formatdate(time.time() + 2, usegmt=True)
    with Scripted((429, {"Retry-After": when}, {"error": "slow"})) as server:
        started = time.monotonic()
        async with saas_client(_ctx(), "Vendor") as api:
            assert await api.call("GET", server.url + "/x") == {"ok": True}
        assert time.monotonic() - started >= 0.9 and len(server.requests) == 2


async def test_repeated_429s_end_as_transient_naming_the_wait(monkeypatch):
    monkeypatch.setattr(saas_http, "TRIES", 2)
    with Scripted(*[(429, {"Retry-After": "0"}, b"")] * 2) as server:
        async with saas_client(_ctx(), "Vendor") as api:
            with pytest.raises(NodeTransientError, match="Vendor rate-limited GET /x; it asks to retry after 0 s"):
                await api.call("GET", server.url + "/x?key=secret")


async def test_5xx_is_transient_4xx_a_user_error_with_the_vendors_message():
    answers = [(503, {}, {"msg": "maintenance"}), (422, {}, {"msg": "bad field"}), (200, {}, b"<html>")]
    with Scripted(*answers) as server:
        async with saas_client(_ctx(), "Vendor", error_text=lambda body: body.get("msg")) as api:
            with pytest.raises(NodeTransientError, match="Vendor GET /a answered 503: maintenance"):
                await api.call("GET", server.url + "/a")
            with pytest.raises(NodeUserError, match=r"Vendor refused POST /b \(422\): bad field"):
                await api.call("POST", server.url + "/b", json={})
            with pytest.raises(NodeUserError, match="answered 200 without JSON; check the credential's API base URL"):
                await api.call("GET", server.url + "/c")


async def test_a_huge_answer_is_refused_while_read(monkeypatch):
    monkeypatch.setattr(saas_http, "MAX_ANSWER_BYTES", 1000)
    with Scripted((200, {}, b"x" * 5000)) as server:
        async with saas_client(_ctx(), "Vendor") as api:
            with pytest.raises(NodeUserError, match="the answer is 5,000 bytes; at most 1,000 are read"):
                await api.call("GET", server.url + "/big")


async def test_the_address_policy_applies():
    with Scripted() as server:
        async with saas_client(_ctx(settings={}), "Vendor") as api:
            with pytest.raises(AddressRefused):
                await api.call("GET", server.url + "/x")
        assert server.requests == []


async def test_collect_stops_at_the_limit_the_last_page_or_a_repeated_cursor():
    pages = {None: ([1, 2], "a"), "a": ([3, 4], "b"), "b": ([5], None)}

    async def fetch(cursor):
        return pages[cursor]

    assert await collect(fetch, 100) == [1, 2, 3, 4, 5]
    assert await collect(fetch, 3) == [1, 2, 3]
    calls = []

    async def stuck(cursor):
        calls.append(cursor)
        return [len(calls)], "same"

    assert await collect(stuck, 100) == [1, 2] and calls == [None, "same"]
