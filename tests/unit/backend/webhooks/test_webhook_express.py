"""The webhook fast path (backend/webhooks/express.py) answers exactly what the routed app answers: the same
status, body and headers for runs and for every kind of refusal, counted by the metrics under the route's
template; what it does not take (other methods, other paths, unexpected errors) goes on as before."""

from __future__ import annotations

import logging

import pytest
from fastapi.testclient import TestClient
from webhook_testkit import flow, hook

from backend import app as app_module
from backend.app import create_app
from backend.observability import REQUESTS
from backend.webhooks import api as webhooks_api
from backend.webhooks import express

VOLATILE = {"date", "x-linkflow-execution-id", "content-length"}


class _Passthrough:
    """WebhookExpress switched off: every call goes through the router, as before the fast path."""

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        await self.app(scope, receive, send)


@pytest.fixture
def routed(monkeypatch):
    monkeypatch.setattr(app_module, "WebhookExpress", _Passthrough)
    with TestClient(create_app()) as client:
        yield client


def _answer(response) -> tuple:
    headers = {k: v for k, v in response.headers.items() if k not in VOLATILE}
    body = response.json() if response.content else None
    if isinstance(body, dict):
        body.pop("execution_id", None)
    return response.status_code, body, headers


CALLS = [
    ("post", "/webhook/orders/7?x=1", {"json": {"n": 1}}),  # a run answered with its last node
    ("post", "/webhook/nowhere", {"json": {}}),  # 404: no workflow listens there
    ("get", "/webhook/orders/7", {}),  # 404: the path listens on POST only
    ("post", "/webhook/orders/7", {"content": b'{"x": NaN}', "headers": {"content-type": "application/json"}}),
    ("post", "/webhook/secure", {"json": {}, "headers": {"x-token": "wrong"}}),  # 401
    ("post", "/webhook/", {"json": {}}),  # an empty path
    ("options", "/webhook/orders/7", {}),  # a method no webhook takes: the router's 405
]


def test_the_fast_path_answers_what_the_routed_app_answers(api, routed, deploy):
    deploy(flow(hook("orders/:id")), name="Orders")
    deploy(flow(hook("secure", auth="header", header_name="X-Token", header_value="let-me-in")), name="Secure")
    for method, url, options in CALLS:
        fast, slow = getattr(api, method)(url, **options), getattr(routed, method)(url, **options)
        assert _answer(fast) == _answer(slow), (method, url)
    statuses = [getattr(api, method)(url, **options).status_code for method, url, options in CALLS]
    assert statuses == [200, 404, 404, 422, 401, 404, 405]


def test_a_call_it_answers_is_counted_under_the_route_template(api, deploy):
    deploy(flow(hook("orders")))
    before = REQUESTS.labels("POST", "/webhook/{path:path}", "200")._value.get()
    assert api.post("/webhook/orders", json={}).status_code == 200
    assert REQUESTS.labels("POST", "/webhook/{path:path}", "200")._value.get() == before + 1


def test_it_is_the_fast_path_that_answers(api, deploy, monkeypatch):
    deploy(flow(hook("orders")))
    seen = []
    real = express.production_webhook

    async def spy(request):
        seen.append(request.scope["path_params"])
        return await real(request)

    monkeypatch.setattr(express, "production_webhook", spy)
    assert api.post("/webhook/orders", json={}).status_code == 200
    assert seen == [{"path": "orders"}]


def test_an_unexpected_error_is_a_logged_500_with_the_error_body(deploy, monkeypatch, caplog):
    deploy(flow(hook("orders")))

    async def broken(request):
        raise RuntimeError("a bug")

    monkeypatch.setattr(express, "production_webhook", broken)
    monkeypatch.setattr(webhooks_api, "production_webhook", broken)
    with TestClient(create_app(), raise_server_exceptions=False) as client, caplog.at_level(logging.ERROR):
        response = client.post("/webhook/orders", json={})
    assert response.status_code == 500
    assert response.json()["error"]["code"] == "internal_error"
    assert "a bug" not in response.text
    assert "unexpected error" in caplog.text
