"""The Webhook node's auth options: a refused request gets 401 and starts nothing."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time

import pytest
from webhook_testkit import execution_count, flow, hook


def basic(user: str, password: str) -> dict:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


def signed(body: bytes, secret: str = "s3cret", stamp: int | None = None) -> dict:
    stamp = int(time.time()) if stamp is None else stamp
    digest = hmac.new(secret.encode(), f"{stamp}.".encode() + body, hashlib.sha256).hexdigest()
    return {"X-Timestamp": str(stamp), "X-Signature": f"sha256={digest}", "Content-Type": "application/json"}


@pytest.fixture
def header_hook(api, deploy):
    deploy(flow(hook("secure", auth="header", header_name="X-Token", header_value="let-me-in")))


@pytest.mark.parametrize("headers", [{}, {"X-Token": "wrong"}, {"X-Tokens": "let-me-in"}],
                         ids=["missing", "wrong", "other-header"])
def test_header_auth_refuses(api, header_hook, headers):
    response = api.post("/webhook/secure", json={"a": 1}, headers=headers)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthorized"
    assert "X-Token" in response.json()["error"]["message"]
    assert execution_count() == 0


def test_header_auth_accepts_and_keeps_the_secret_out_of_the_item(api, header_hook):
    response = api.post("/webhook/secure", json={"a": 1}, headers={"X-Token": "let-me-in"})
    assert response.status_code == 200
    assert response.json()["headers"]["x-token"] == "[redacted]"
    assert execution_count() == 1


def test_basic_auth(api, deploy):
    deploy(flow(hook("basic", auth="basic", username="ada", password="lovelace")))
    refused = api.post("/webhook/basic", json={}, headers=basic("ada", "babbage"))
    assert refused.status_code == 401
    assert refused.headers["www-authenticate"] == 'Basic realm="webhook"'
    assert api.post("/webhook/basic", json={}).status_code == 401
    assert execution_count() == 0
    accepted = api.post("/webhook/basic", json={}, headers=basic("ada", "lovelace"))
    assert accepted.status_code == 200
    assert accepted.json()["headers"]["authorization"] == "[redacted]"


@pytest.fixture
def hmac_hook(api, deploy):
    deploy(flow(hook("signed", auth="hmac", hmac_secret="s3cret", timestamp_tolerance_s=300)))


def test_hmac_with_a_fresh_timestamp_is_accepted(api, hmac_hook):
    body = b'{"order": 1}'
    response = api.post("/webhook/signed", content=body, headers=signed(body))
    assert response.status_code == 200
    assert response.json()["body"] == {"order": 1}


@pytest.mark.parametrize("make_headers", [
    lambda body: {"Content-Type": "application/json"},
    lambda body: signed(body, secret="guessed"),
    lambda body: signed(b'{"order": 2}'),  # a signature of another body
    lambda body: signed(body, stamp=int(time.time()) - 3600),  # replayed an hour later
    lambda body: {**signed(body), "X-Timestamp": "soon"},
], ids=["missing", "wrong-secret", "other-body", "replayed-outside-window", "bad-timestamp"])
def test_hmac_refusals(api, hmac_hook, make_headers):
    body = b'{"order": 1}'
    response = api.post("/webhook/signed", content=body, headers=make_headers(body))
    assert response.status_code == 401
    assert execution_count() == 0


def test_refused_immediately_mode_queues_nothing(api, deploy, held_queue):
    deploy(flow(hook("queued", respond="immediately", auth="header", header_value="k")))
    assert api.post("/webhook/queued", json={}).status_code == 401
    assert held_queue == [] and execution_count() == 0
