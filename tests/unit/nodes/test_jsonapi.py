"""nodes/sdk/jsonapi.py on its own: the rate-limit waits it reads, the vendor messages it quotes, a next-page link
to another host, which it refuses to follow (the credential's headers would go there), and, against a local HTTP
server answering what each test needs, waits, errors, the answer size cap, the address policy and ``collect``."""

from __future__ import annotations

import time
from email.utils import formatdate

import httpx
import pytest

import nodes.sdk.jsonapi as jsonapi
from nodes.builtin.noop import NoOp
from nodes.sdk import NodeTransientError, NodeUserError
from nodes.sdk.jsonapi import JsonApi, api_message, collect, dig, next_link
from nodes.sdk.net import AddressRefused
from nodes.sdk.testing import FakeContext
from tests.fakes.http_fake import FakeApi, Request


def _api(**options) -> JsonApi:
    return JsonApi(httpx.AsyncClient(), "Vendor", "http://127.0.0.1:1/api", **options)


@pytest.mark.parametrize(("status", "headers", "wait"), [
    (429, {"Retry-After": "7"}, 7),
    (429, {}, 1),  # the default
    (200, {"Retry-After": "7"}, None),
    (403, {"X-RateLimit-Remaining": "5"}, None),  # an ordinary 403
    (503, {"Retry-After": "7"}, None),  # 5xx: transient at once, not waited
])
def test_what_counts_as_a_rate_limit(status, headers, wait):
    assert _api().rate_limit_wait(httpx.Response(status, headers=headers)) == wait


def test_reset_headers_and_http_dates_are_read():
    soon = time.time() + 5
    for headers in ({"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": str(int(soon))},
                    {"RateLimit-Reset": str(int(soon))}, {"Retry-After": formatdate(soon, usegmt=True)}):
        status = 403 if "X-RateLimit-Remaining" in headers else 429
        assert 3 <= _api().rate_limit_wait(httpx.Response(status, headers=headers)) <= 5
    assert _api(default_wait_s=30).rate_limit_wait(httpx.Response(429)) == 30


@pytest.mark.parametrize(("body", "message"), [
    ({"message": "Validation Failed", "errors": [{"resource": "Issue", "field": "title", "code": "missing_field"}]},
     "Validation Failed; Issue title missing_field"),  # GitHub
    ({"message": {"title": ["can't be blank"], "labels": ["is invalid"]}}, "title can't be blank; labels is invalid"),
    ({"errorMessages": ["Issue does not exist"], "errors": {"summary": "required"}},
     "Issue does not exist; summary: required"),  # Jira
    ({"object": "error", "status": 400, "code": "validation_error", "message": "bad"}, "validation_error: bad"),
    ({"error": {"type": "NOT_FOUND", "message": "no"}}, "NOT_FOUND: no"),  # Airtable
    ({"error": {"code": 400, "status": "INVALID_ARGUMENT", "message": "range"}}, "INVALID_ARGUMENT: range"),
    ({"error": "invalid_grant", "error_description": "Bad JWT"}, "invalid_grant: Bad JWT"),  # OAuth
])
def test_vendor_messages_are_quoted(body, message):
    assert api_message(httpx.Response(400, json=body)) == message


def test_link_headers():
    header = '<https://x/a?page=2>; rel="next", <https://x/a?page=9>; rel="last"'
    assert next_link(header) == "https://x/a?page=2"
    assert next_link('<https://x/a?page=9>; rel="last"') is None and next_link("") is None


class _Hopper(FakeApi):
    def answer(self, request: Request):
        return 200, {"Link": '<http://127.0.0.2:9/steal?page=2>; rel="next"'}, [{"n": 1}]


async def test_a_next_link_to_another_host_is_not_followed():
    with _Hopper() as server:
        async with httpx.AsyncClient(headers={"Authorization": "Bearer secret"}) as client:
            api = JsonApi(client, "Vendor", server.origin)
            with pytest.raises(NodeUserError, match="Vendor pointed to 127.0.0.2 for the next page, not to the "
                                                    "credential's host 127.0.0.1; it was not followed"):
                await api.link_pages("/items", {}, limit=10)
            assert len(server.requests) == 1


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
    started = time.monotonic()  # before the date is made: the wait it asks for is over 1 s from here
    when = formatdate(time.time() + 2, usegmt=True)  # a whole second: 1-2 s from now
    with Scripted((429, {"Retry-After": when}, {"error": "slow"})) as server:
        async with JsonApi.open(_ctx(), "Vendor") as api:
            assert await api.json("GET", server.url + "/x") == {"ok": True}
        assert time.monotonic() - started >= 0.9 and len(server.requests) == 2


async def test_repeated_429s_end_as_transient_naming_the_wait(monkeypatch):
    monkeypatch.setattr(jsonapi, "TRIES", 2)
    with Scripted(*[(429, {"Retry-After": "0"}, b"")] * 2) as server:
        async with JsonApi.open(_ctx(), "Vendor") as api:
            with pytest.raises(NodeTransientError, match="Vendor rate-limited GET /x; it asks to retry after 0 s"):
                await api.json("GET", server.url + "/x?key=secret")


async def test_5xx_is_transient_4xx_a_user_error_with_the_vendors_message():
    answers = [(503, {}, {"msg": "maintenance"}), (422, {}, {"msg": "bad field"}), (200, {}, b"<html>")]
    with Scripted(*answers) as server:
        async with JsonApi.open(_ctx(), "Vendor", error_text=lambda body: body.get("msg")) as api:
            with pytest.raises(NodeTransientError, match="Vendor GET /a answered 503: maintenance"):
                await api.json("GET", server.url + "/a")
            with pytest.raises(NodeUserError, match=r"Vendor refused POST /b \(422\): bad field"):
                await api.json("POST", server.url + "/b", json={})
            with pytest.raises(NodeUserError, match="answered 200 without JSON; check the credential's API base URL"):
                await api.json("GET", server.url + "/c")


async def test_a_huge_answer_is_refused_while_read(monkeypatch):
    monkeypatch.setattr(jsonapi, "MAX_ANSWER_BYTES", 1000)
    with Scripted((200, {}, b"x" * 5000)) as server:
        async with JsonApi.open(_ctx(), "Vendor") as api:
            with pytest.raises(NodeUserError, match="the answer is 5,000 bytes; at most 1,000 are read"):
                await api.json("GET", server.url + "/big")


async def test_an_answer_without_a_length_is_refused_while_streamed(monkeypatch):
    monkeypatch.setattr(jsonapi, "MAX_ANSWER_BYTES", 1000)
    sent = []

    async def chunks():
        for _ in range(10):
            sent.append(300)
            yield b"x" * 300

    transport = httpx.MockTransport(lambda request: httpx.Response(200, content=chunks()))  # chunked, no length
    async with httpx.AsyncClient(transport=transport) as client:
        with pytest.raises(NodeUserError, match="the answer is larger than 1,000 bytes; it was refused"):
            await JsonApi(client, "Vendor", "http://vendor.test").json("GET", "/big")
    assert len(sent) == 4  # reading stopped at the chunk that passed the cap


async def test_the_bodys_retry_after_wins_forms_are_sent_and_unchecked_4xx_come_back():
    answers = [(429, {"Retry-After": "60"}, {"parameters": {"retry_after": 0}}), (404, {}, b"gone")]
    with Scripted(*answers) as server:
        async with JsonApi.open(_ctx(), "Vendor", retry_after=lambda body: dig(body, "parameters", "retry_after"),
                                max_wait_s=5) as api:
            response = await api.request("POST", server.url + "/f", data={"a": "1", "b": "x y"}, check=False)
        assert response.status_code == 404 and response.content == b"gone"
        assert [r.form() for r in server.requests] == [{"a": "1", "b": "x y"}] * 2


async def test_a_label_stands_for_a_path_holding_a_secret():
    with Scripted((401, {}, {"description": "Unauthorized"})) as server:
        async with JsonApi.open(_ctx(), "Telegram", error_text=lambda body: dig(body, "description")) as api:
            with pytest.raises(NodeUserError) as refused:
                await api.json("POST", server.url + "/bot123:SECRET/getMe", label="getMe")
    assert str(refused.value) == "Telegram refused POST getMe (401): Unauthorized (check the credential)"


async def test_the_address_policy_applies():
    with Scripted() as server:
        async with JsonApi.open(_ctx(settings={}), "Vendor") as api:
            with pytest.raises(AddressRefused):
                await api.json("GET", server.url + "/x")
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
