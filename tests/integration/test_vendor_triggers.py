"""GitHub, Stripe, Slack and Telegram triggers through the real app: uvicorn on 127.0.0.1 serving ``create_app()``
on real PostgreSQL, activated through the API. GitHub, Slack and Telegram cannot be reached from here, so they are
local imitations that follow their documentation (``tests/fakes/<vendor>/``); Stripe is stripe-mock (behind the
recording proxy, which adds the endpoint secret Stripe returns on creation). The vendors call the workflow's URL
over HTTP as they would: a signed event runs the workflow, a forged, replayed or over-deep one gets a 4xx and
starts nothing, and registration errors roll the activation back with the vendor's message."""

from __future__ import annotations

import hashlib
import hmac
import json
import socket
import threading
import time

import httpx
import pytest
import uvicorn
from sqlalchemy import select

from backend.app import create_app
from backend.auth.tokens import issue_access_token
from backend.credentials.service import create_credential
from backend.db import migrate
from backend.db.session import session_scope
from backend.executions import dispatch
from backend.executions.models import Execution
from backend.executions.worker_runtime import execute
from backend.json_limits import MAX_JSON_DEPTH
from backend.users.service import create_user
from backend.vendorhooks.models import VendorWebhook
from backend.webhooks.service import invalidate_cache
from tests.fakes.github.server import REPO, FakeGitHub
from tests.fakes.github.server import TOKEN as GITHUB_TOKEN
from tests.fakes.slack.events import SlackEvents
from tests.fakes.telegram.server import TOKEN as TELEGRAM_TOKEN
from tests.fakes.telegram.server import FakeTelegram

pytestmark = pytest.mark.integration
SIGNING_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"


@pytest.fixture
def app(configure, postgres_url):
    """The app on a real port, as the vendors reach it; runs go through the worker code at once."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    base = f"http://127.0.0.1:{port}"
    configure(DATABASE_URL=postgres_url, HTTP_ALLOW_LIST="127.0.0.1", HTTP_WEBHOOK_URL=base, HTTP_PUBLIC_URL=base,
              HTTP_WEBHOOK_BODY_LIMIT_BYTES="100000")
    migrate.upgrade(postgres_url)
    invalidate_cache()
    previous = dispatch._dispatcher
    dispatch.register(lambda execution_id: execute(execution_id, "vendor-test-worker"))
    server = uvicorn.Server(uvicorn.Config(create_app(), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    with httpx.Client(base_url=base, timeout=30) as client:
        yield client
    server.should_exit = True
    thread.join(10)
    dispatch._dispatcher = previous
    invalidate_cache()


def sign_in(email: str) -> tuple[dict, str]:
    with session_scope() as session:
        user, team = create_user(session, email=email, password="a long enough password")
        user_id, team_id = user.id, team.id
    return {"Authorization": f"Bearer {issue_access_token(user_id)[0]}", "X-Team-Id": team_id}, team_id


def credential(team_id: str, type_: str, values: dict) -> str:
    with session_scope() as session:
        return create_credential(session, team_id=team_id, name=f"{type_} login", type=type_, values=values).id


def create(app: httpx.Client, headers: dict, node_type: str, parameters: dict, slot: str, credential_id: str) -> str:
    definition = {"nodes": [
        {"id": "t", "name": "Vendor", "type": node_type, "position": [0, 0], "parameters": parameters,
         "credentials": {slot: credential_id}},
        {"id": "n", "name": "Seen", "type": "set", "position": [1, 0],
         "parameters": {"fields": [{"name": "seen", "value": "yes"}]}}],
        "connections": [{"from": "t", "to": "n"}]}
    created = app.post("/api/v1/workflows", json={"name": node_type, "definition": definition}, headers=headers)
    assert created.status_code == 201, created.text
    return created.json()["id"]


def status(app: httpx.Client, headers: dict, workflow_id: str) -> dict:
    answer = app.get(f"/api/v1/workflows/{workflow_id}/triggers", headers=headers)
    assert answer.status_code == 200, answer.text
    return answer.json()


def runs(workflow_id: str) -> list[tuple[str, dict]]:
    with session_scope() as session:
        rows = session.scalars(select(Execution).where(Execution.workflow_id == workflow_id)
                               .order_by(Execution.created_at))
        return [(row.status, row.input[0]["json"]) for row in rows]


def wait_for_runs(workflow_id: str, count: int) -> list[tuple[str, dict]]:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        found = runs(workflow_id)
        if len(found) >= count and all(s in ("succeeded", "failed") for s, _ in found):
            return found
        time.sleep(0.1)
    return runs(workflow_id)


def test_github_hook_is_created_verified_and_deleted(app):
    headers, team_id = sign_in("github@example.com")
    with FakeGitHub() as github:
        login = credential(team_id, "github", {"access_token": GITHUB_TOKEN, "api_base_url": github.url})
        workflow_id = create(app, headers, "github_trigger", {"owner": REPO[0], "repository": REPO[1],
                                                              "events": ["push"]}, "github", login)
        activated = app.post(f"/api/v1/workflows/{workflow_id}/activate", headers=headers)
        assert activated.status_code == 200, activated.text
        [(hook_id, hook)] = github.hooks.items()
        assert hook["events"] == ["push"] and hook["config"]["content_type"] == "json"
        shown = status(app, headers, workflow_id)
        [vendor] = shown["vendor_hooks"]
        assert vendor["status"] == "registered" and vendor["error"] is None
        assert vendor["url"] == hook["config"]["url"] and vendor["url"].startswith(str(app.base_url) + "/webhook/github/")
        assert hook["config"]["secret"] not in json.dumps(shown)  # the secret never leaves the server
        with session_scope() as session:  # ...and is stored sealed, not as text
            sealed = session.scalar(select(VendorWebhook.secret).where(VendorWebhook.workflow_id == workflow_id))
            assert hook["config"]["secret"].encode() not in sealed

        pinged = github.ping(hook_id)
        assert pinged.status_code == 200 and pinged.json()["ok"] is True
        pushed = github.deliver(hook_id, "push", {"ref": "refs/heads/main", "commits": [{"id": "abc"}]})
        assert pushed.status_code == 202, pushed.text
        [(state, item)] = wait_for_runs(workflow_id, 1)
        assert state == "succeeded" and item["body"]["ref"] == "refs/heads/main"
        assert item["headers"]["x-github-event"] == "push"

        body, signed = github.signed(hook_id, "push", {"ref": "refs/heads/evil"})
        forged = {**signed, "X-Hub-Signature-256": "sha256=" + hmac.new(b"guess", body, hashlib.sha256).hexdigest()}
        assert app.post(vendor["url"], content=body, headers=forged).status_code == 401
        changed = body.replace(b"evil", b"evi1")  # one byte, signature of the original
        assert app.post(vendor["url"], content=changed, headers=signed).status_code == 401
        unsigned = {k: v for k, v in signed.items() if not k.startswith("X-Hub")}
        assert app.post(vendor["url"], content=body, headers=unsigned).status_code == 401
        ignored = github.deliver(hook_id, "issues", {"action": "opened"})
        assert ignored.status_code == 200 and ignored.json()["ignored"] is True
        deep = b"[" * (MAX_JSON_DEPTH + 1) + b"]" * (MAX_JSON_DEPTH + 1)
        deep_headers = {**signed, "X-Hub-Signature-256": "sha256=" + hmac.new(
            hook["config"]["secret"].encode(), deep, hashlib.sha256).hexdigest()}
        assert app.post(vendor["url"], content=deep, headers=deep_headers).status_code == 422
        assert app.post(vendor["url"], content=b"x" * 200_000, headers=signed).status_code == 413
        assert len(runs(workflow_id)) == 1  # none of those started anything

        deactivated = app.post(f"/api/v1/workflows/{workflow_id}/deactivate", headers=headers)
        assert deactivated.status_code == 200 and github.hooks == {}
        assert status(app, headers, workflow_id)["vendor_hooks"][0]["status"] == "not_registered"
        assert app.post(vendor["url"], content=body, headers=signed).status_code == 404


def test_github_refusal_rolls_activation_back_and_is_shown(app):
    headers, team_id = sign_in("github-fail@example.com")
    with FakeGitHub() as github:
        login = credential(team_id, "github", {"access_token": GITHUB_TOKEN, "api_base_url": github.url})
        workflow_id = create(app, headers, "github_trigger", {"owner": REPO[0], "repository": "no-such-repo"},
                             "github", login)
        refused = app.post(f"/api/v1/workflows/{workflow_id}/activate", headers=headers)
        assert refused.status_code == 422
        message = refused.json()["error"]["message"]
        assert "GitHub refused creating a webhook on octo-org/no-such-repo (HTTP 404): Not Found" in message
        assert "rolled back" in message
        shown = status(app, headers, workflow_id)
        assert shown["active"] is False
        [vendor] = shown["vendor_hooks"]
        assert vendor["status"] == "not_registered" and "Not Found" in vendor["error"] and vendor["url"] is None
        assert app.get(f"/api/v1/workflows/{workflow_id}", headers=headers).json()["active"] is False


def test_another_teams_workflow_status_is_not_found(app):
    headers, team_id = sign_in("owner@example.com")
    other, _ = sign_in("other@example.com")
    with FakeGitHub() as github:
        login = credential(team_id, "github", {"access_token": GITHUB_TOKEN, "api_base_url": github.url})
        workflow_id = create(app, headers, "github_trigger", {"owner": REPO[0], "repository": REPO[1]}, "github", login)
        assert app.post(f"/api/v1/workflows/{workflow_id}/activate", headers=headers).status_code == 200
        answer = app.get(f"/api/v1/workflows/{workflow_id}/triggers", headers=other)
        assert answer.status_code == 404 and "registered" not in answer.text
        assert app.post(f"/api/v1/workflows/{workflow_id}/deactivate", headers=other).status_code == 404
        assert len(github.hooks) == 1  # still registered: the other team could not touch it


def stripe_signed(secret: str, event: dict, stamp: int | None = None) -> tuple[bytes, dict]:
    body = json.dumps(event).encode()
    stamp = int(time.time()) if stamp is None else stamp
    signature = hmac.new(secret.encode(), f"{stamp}.".encode() + body, hashlib.sha256).hexdigest()
    return body, {"Content-Type": "application/json", "Stripe-Signature": f"t={stamp},v1={signature}"}


def test_stripe_endpoint_on_stripe_mock_and_signed_events(app, stripe_proxy):
    headers, team_id = sign_in("stripe@example.com")
    login = credential(team_id, "stripe", {"secret_key": "sk_test_123", "api_base_url": stripe_proxy.url})
    workflow_id = create(app, headers, "stripe_trigger", {"events": ["charge.succeeded"]}, "stripe", login)
    assert app.post(f"/api/v1/workflows/{workflow_id}/activate", headers=headers).status_code == 200
    [created] = stripe_proxy.requests("/v1/webhook_endpoints")
    assert created.form["enabled_events[]"] == "charge.succeeded"
    [vendor] = status(app, headers, workflow_id)["vendor_hooks"]
    assert created.form["url"] == vendor["url"] and vendor["status"] == "registered"
    [(endpoint_id, secret)] = stripe_proxy.endpoint_secrets.items()

    event = {"id": "evt_1", "object": "event", "type": "charge.succeeded", "data": {"object": {"amount": 1234}}}
    body, signed = stripe_signed(secret, event)
    answer = app.post(vendor["url"], content=body, headers=signed)
    assert answer.status_code == 202, answer.text
    [(state, item)] = wait_for_runs(workflow_id, 1)
    assert state == "succeeded" and item["data"]["object"]["amount"] == 1234
    old_body, replayed = stripe_signed(secret, event, stamp=int(time.time()) - 600)
    assert app.post(vendor["url"], content=old_body, headers=replayed).status_code == 401
    _, other = stripe_signed("whsec_forged", event)
    assert app.post(vendor["url"], content=body, headers=other).status_code == 401
    assert len(runs(workflow_id)) == 1

    assert app.post(f"/api/v1/workflows/{workflow_id}/deactivate", headers=headers).status_code == 200
    assert [s.path for s in stripe_proxy.requests("/v1/webhook_endpoints", "DELETE")] == \
        [f"/v1/webhook_endpoints/{endpoint_id}"]


def test_stripe_error_message_is_named(app, stripe_proxy):
    headers, team_id = sign_in("stripe-fail@example.com")
    login = credential(team_id, "stripe", {"secret_key": "sk_test_123", "api_base_url": stripe_proxy.url})
    workflow_id = create(app, headers, "stripe_trigger", {}, "stripe", login)
    stripe_proxy.fail_next("/v1/webhook_endpoints", 500)
    refused = app.post(f"/api/v1/workflows/{workflow_id}/activate", headers=headers)
    assert refused.status_code == 422
    assert "Stripe refused creating a webhook endpoint (HTTP 500): proxy: simulated outage" in refused.json()["error"][
        "message"]


def test_slack_url_verification_and_signed_events(app):
    headers, team_id = sign_in("slack@example.com")
    login = credential(team_id, "slack", {"bot_token": "xoxb-1", "signing_secret": SIGNING_SECRET})
    workflow_id = create(app, headers, "slack_trigger", {"events": ["app_mention"]}, "slack", login)
    assert app.post(f"/api/v1/workflows/{workflow_id}/activate", headers=headers).status_code == 200
    [vendor] = status(app, headers, workflow_id)["vendor_hooks"]
    slack = SlackEvents(SIGNING_SECRET)
    assert slack.verify_url(vendor["url"])
    assert not SlackEvents("not the secret").verify_url(vendor["url"])
    answer = slack.send(vendor["url"], {"type": "app_mention", "text": "<@U1> deploy", "user": "U2"})
    assert answer.status_code == 202, answer.text
    [(state, item)] = wait_for_runs(workflow_id, 1)
    assert state == "succeeded" and item["text"] == "<@U1> deploy" and item["team_id"] == "T0001"
    assert slack.send(vendor["url"], {"type": "app_mention"}, timestamp=int(time.time()) - 301).status_code == 401
    assert slack.send(vendor["url"], {"type": "message"}).json()["ignored"] is True
    assert len(runs(workflow_id)) == 1


def test_slack_credential_without_signing_secret_refuses_activation(app):
    headers, team_id = sign_in("slack-fail@example.com")
    login = credential(team_id, "slack", {"bot_token": "xoxb-1"})
    workflow_id = create(app, headers, "slack_trigger", {}, "slack", login)
    refused = app.post(f"/api/v1/workflows/{workflow_id}/activate", headers=headers)
    assert refused.status_code == 422 and "no signing secret" in refused.json()["error"]["message"]


def test_telegram_webhook_set_verified_and_deleted(app):
    headers, team_id = sign_in("telegram@example.com")
    with FakeTelegram(allow_http=True) as telegram:
        login = credential(team_id, "telegram", {"bot_token": TELEGRAM_TOKEN, "api_base_url": telegram.url})
        workflow_id = create(app, headers, "telegram_trigger", {"updates": ["message"]}, "telegram", login)
        assert app.post(f"/api/v1/workflows/{workflow_id}/activate", headers=headers).status_code == 200
        [vendor] = status(app, headers, workflow_id)["vendor_hooks"]
        assert telegram.webhook["url"] == vendor["url"] and telegram.webhook["allowed_updates"] == ["message"]
        sent = telegram.send_update({"message": {"message_id": 1, "text": "/start", "chat": {"id": 42}}})
        assert sent.status_code == 202, sent.text
        [(state, item)] = wait_for_runs(workflow_id, 1)
        assert state == "succeeded" and item["message"]["text"] == "/start"
        assert telegram.send_update({"message": {"text": "x"}}, secret_token="guessed").status_code == 401
        assert telegram.send_update({"message": {"text": "x"}}, secret_token="").status_code == 401
        assert len(runs(workflow_id)) == 1
        assert app.post(f"/api/v1/workflows/{workflow_id}/deactivate", headers=headers).status_code == 200
        assert telegram.webhook is None and "deleteWebhook" in telegram.calls


def test_telegram_refusing_the_url_rolls_back(app):
    headers, team_id = sign_in("telegram-fail@example.com")
    with FakeTelegram(allow_http=False) as telegram:
        login = credential(team_id, "telegram", {"bot_token": TELEGRAM_TOKEN, "api_base_url": telegram.url})
        workflow_id = create(app, headers, "telegram_trigger", {}, "telegram", login)
        refused = app.post(f"/api/v1/workflows/{workflow_id}/activate", headers=headers)
        assert refused.status_code == 422
        assert "An HTTPS URL must be provided for webhook" in refused.json()["error"]["message"]
        assert TELEGRAM_TOKEN not in refused.text
        assert status(app, headers, workflow_id)["active"] is False
