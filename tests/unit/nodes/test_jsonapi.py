"""nodes/sdk/jsonapi.py on its own: the rate-limit waits it reads, the vendor messages it quotes, and a next-page
link to another host, which it refuses to follow (the credential's headers would go there)."""

from __future__ import annotations

import time
from email.utils import formatdate

import httpx
import pytest

from nodes.sdk import NodeUserError
from nodes.sdk.jsonapi import JsonApi, api_message, next_link
from tests.fakes._http import FakeApi


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
    def answer(self, method, path, query, body, headers):
        return 200, {"Link": '<http://127.0.0.2:9/steal?page=2>; rel="next"'}, [{"n": 1}]


async def test_a_next_link_to_another_host_is_not_followed():
    with _Hopper() as server:
        async with httpx.AsyncClient(headers={"Authorization": "Bearer secret"}) as client:
            api = JsonApi(client, "Vendor", server.origin)
            with pytest.raises(NodeUserError, match="Vendor pointed to 127.0.0.2 for the next page, not to the "
                                                    "credential's host 127.0.0.1; it was not followed"):
                await api.link_pages("/items", {}, limit=10)
            assert len(server.calls) == 1
