"""/api/v1/notifications/channels and /rules: CRUD in the caller's team, secrets sealed and never returned,
other teams' ids and bad input refused with nothing changed, "send test" through the address policy."""

from __future__ import annotations

import hashlib
import hmac

import pytest
from sqlalchemy import select

from backend.db.session import session_scope
from backend.notifications.models import NotificationChannel, NotificationRule
from backend.users.models import Role
from tests.http_receiver import Receiver

URL = "/api/v1/notifications"
DEEP: list = []
for _ in range(300):
    DEEP = [DEEP]
HOOK = "https://hooks.slack.com/services/T000/B000/very-secret-token"


def slack(api, who, name="Alerts", url=HOOK):
    response = api.post(f"{URL}/channels", json={"name": name, "kind": "slack", "secrets": {"webhook_url": url}},
                        headers=who.headers)
    assert response.status_code == 201, response.text
    return response.json()


def workflow(api, who, name="Orders") -> str:
    created = api.post("/api/v1/workflows", json={"name": name, "definition": {"nodes": [], "connections": []}},
                       headers=who.headers)
    assert created.status_code == 201, created.text
    return created.json()["id"]


def rows():
    with session_scope() as session:
        channels = [(c.id, c.name, c.kind, c.config, c.ciphertext) for c in session.scalars(
            select(NotificationChannel).order_by(NotificationChannel.id))]
        rules = [(r.id, r.name, r.trigger, r.channel_id, r.workflow_id, r.threshold_s, r.window_s, r.enabled)
                 for r in session.scalars(select(NotificationRule).order_by(NotificationRule.id))]
    return channels, rules


def test_channels_and_rules_crud_never_return_secrets(api, api_user):
    ada = api_user("ada@example.com")
    channel = slack(api, ada)
    assert channel["kind"] == "slack" and channel["secrets_set"] == ["webhook_url"]
    assert "very-secret-token" not in str(channel)
    listed = api.get(f"{URL}/channels", headers=ada.headers)
    assert listed.status_code == 200 and "very-secret-token" not in listed.text
    with session_scope() as session:  # sealed at rest: the URL is not in the row
        row = session.get(NotificationChannel, channel["id"])
        assert b"very-secret-token" not in row.ciphertext and "very-secret-token" not in str(row.config)

    workflow_id = workflow(api, ada)
    rule = api.post(f"{URL}/rules", json={"name": "Orders failing", "channel_id": channel["id"],
                                          "trigger": "failure", "workflow_id": workflow_id}, headers=ada.headers)
    assert rule.status_code == 201, rule.text
    rule = rule.json()
    assert (rule["trigger"], rule["window_s"], rule["enabled"], rule["workflow_id"]) == (
        "failure", 600, True, workflow_id)
    changed = api.patch(f"{URL}/rules/{rule['id']}", json={"trigger": "long_run", "threshold_s": 30,
                                                           "workflow_id": None}, headers=ada.headers)
    assert changed.status_code == 200, changed.text
    assert (changed.json()["trigger"], changed.json()["threshold_s"], changed.json()["workflow_id"]) == (
        "long_run", 30, None)
    renamed = api.patch(f"{URL}/channels/{channel['id']}", json={"name": "Ops"}, headers=ada.headers)
    assert renamed.json()["name"] == "Ops" and renamed.json()["secrets_set"] == ["webhook_url"]

    assert api.delete(f"{URL}/channels/{channel['id']}", headers=ada.headers).status_code == 204
    assert rows() == ([], [])  # its rules went with it


def test_another_teams_ids_are_not_found_and_change_nothing(api, api_user):
    ada, eve = api_user("ada@example.com"), api_user("eve@example.com")
    channel = slack(api, ada)
    rule = api.post(f"{URL}/rules", json={"name": "r", "channel_id": channel["id"], "trigger": "failure"},
                    headers=ada.headers).json()
    eve_workflow = workflow(api, eve)
    before = rows()
    for method, path, body in [
        ("GET", f"/channels/{channel['id']}", None), ("PATCH", f"/channels/{channel['id']}", {"name": "x"}),
        ("DELETE", f"/channels/{channel['id']}", None), ("POST", f"/channels/{channel['id']}/test", None),
        ("GET", f"/rules/{rule['id']}", None), ("PATCH", f"/rules/{rule['id']}", {"enabled": False}),
        ("DELETE", f"/rules/{rule['id']}", None),
    ]:
        answer = api.request(method, URL + path, json=body, headers=eve.headers)
        assert answer.status_code == 404, (method, path, answer.text)
    # Eve's own rule cannot point at Ada's channel; Ada's rule cannot watch Eve's workflow.
    assert api.post(f"{URL}/rules", json={"name": "r", "channel_id": channel["id"], "trigger": "failure"},
                    headers=eve.headers).status_code == 404
    assert api.patch(f"{URL}/rules/{rule['id']}", json={"workflow_id": eve_workflow},
                     headers=ada.headers).status_code == 404
    assert api.get(f"{URL}/channels", headers=eve.headers).json() == {"items": []}
    assert rows() == before


def test_viewers_read_but_do_not_write(api, api_user):
    ada = api_user("ada@example.com")
    viewer = api_user("vic@example.com", team_id=ada.team_id, role=Role.VIEWER)
    channel = slack(api, ada)
    assert [c["id"] for c in api.get(f"{URL}/channels", headers=viewer.headers).json()["items"]] == [channel["id"]]
    before = rows()
    assert api.post(f"{URL}/channels", json={"name": "x", "kind": "in_app"}, headers=viewer.headers).status_code == 403
    assert api.delete(f"{URL}/channels/{channel['id']}", headers=viewer.headers).status_code == 403
    assert api.post(f"{URL}/channels/{channel['id']}/test", headers=viewer.headers).status_code == 403
    assert api.post(f"{URL}/rules", json={"name": "r", "channel_id": channel["id"], "trigger": "failure"},
                    headers=viewer.headers).status_code == 403
    assert api.get(f"{URL}/rules").status_code == 401
    assert rows() == before


@pytest.mark.parametrize("body, status, says", [
    ({"name": "x", "kind": "sms"}, 422, "kind"),
    ({"name": "x", "kind": "slack"}, 400, "webhook_url"),
    ({"name": "x", "kind": "slack", "secrets": {"webhook_url": "ftp://example.com/x"}}, 400, "http(s) URL"),
    ({"name": "x", "kind": "teams", "secrets": {"webhook_url": "https://example.com/x", "extra": 1}}, 400, "extra"),
    ({"name": "x", "kind": "email", "config": {"recipients": ["not-an-address"]}}, 400, "email address"),
    ({"name": "x", "kind": "webhook", "secrets": {"url": "https://example.com/x", "signing_secret": "short"}},
     400, "signing_secret"),
    ({"name": "x", "kind": "slack", "config": {"mode": "bot", "channel": "#a", "credential_id": "nope"}},
     400, "not a Slack credential"),
    ({"name": "", "kind": "in_app"}, 422, "name"),
    ({"name": "   ", "kind": "in_app"}, 400, "needs a name"),
    ({"name": "x", "kind": "in_app", "config": {"deep": DEEP}}, None, ""),
])
def test_bad_channels_are_refused_and_nothing_is_stored(api, api_user, body, status, says):
    ada = api_user("ada@example.com")
    answer = api.post(f"{URL}/channels", json=body, headers=ada.headers)
    if status is None:
        assert 400 <= answer.status_code < 500, answer.text
    else:
        assert answer.status_code == status, answer.text
    assert says in answer.text
    assert "example.com/x" not in answer.text  # a refused secret is not echoed back
    assert rows() == ([], [])


def test_huge_bodies_and_bad_rules_are_refused(api, api_user):
    ada = api_user("ada@example.com")
    channel = slack(api, ada)
    before = rows()
    huge = {"name": "x", "kind": "in_app", "config": {"blob": "a" * 5_000_000}}
    assert 400 <= api.post(f"{URL}/channels", json=huge, headers=ada.headers).status_code < 500
    for body, status in [
        ({"name": "r", "channel_id": channel["id"], "trigger": "sometimes"}, 422),
        ({"name": "r", "channel_id": channel["id"], "trigger": "long_run"}, 400),  # no threshold
        ({"name": "r", "channel_id": channel["id"], "trigger": "failure", "window_s": -1}, 422),
        ({"name": "r", "channel_id": "nope", "trigger": "failure"}, 404),
        ({"name": "r", "channel_id": channel["id"], "trigger": "failure", "workflow_id": "nope"}, 404),
        ({"name": "r", "channel_id": channel["id"], "trigger": "failure", "surprise": True}, 422),
    ]:
        answer = api.post(f"{URL}/rules", json=body, headers=ada.headers)
        assert answer.status_code == status, (body, answer.text)
    assert api.post(f"{URL}/channels", json={"name": "Alerts", "kind": "in_app"},
                    headers=ada.headers).status_code == 409  # the name is taken
    assert rows() == before


def test_a_loopback_url_is_refused_when_saved_and_when_sent_unless_allowed(api, api_user, configure):
    ada = api_user("ada@example.com")
    with Receiver() as receiver:
        url = receiver.url("/services/T1/B1/secret")
        refused = api.post(f"{URL}/channels", json={"name": "Alerts", "kind": "slack",
                                                     "secrets": {"webhook_url": url}}, headers=ada.headers)
        assert refused.status_code == 400, refused.text
        assert "loopback" in refused.text and "LINKFLOW_HTTP_ALLOW_PRIVATE" in refused.text
        assert "/services/T1/B1/secret" not in refused.text
        assert api.get(f"{URL}/channels", headers=ada.headers).json() == {"items": []}  # nothing saved

        configure(HTTP_ALLOW_PRIVATE="true")  # what an administrator sets to reach internal hosts
        channel = slack(api, ada, url=url)
        sent = api.post(f"{URL}/channels/{channel['id']}/test", headers=ada.headers).json()
        assert sent["ok"] is True, sent
        [request] = receiver.wait_for(1)
        assert request.path == "/services/T1/B1/secret" and "Test message" in request.json()["text"]

        configure(HTTP_ALLOW_PRIVATE="false")  # the policy tightened later: every send checks again
        again = api.post(f"{URL}/channels/{channel['id']}/test", headers=ada.headers)
        assert again.status_code == 200 and again.json()["ok"] is False
        assert "loopback" in again.json()["message"] and "secret" not in again.json()["message"]
        assert len(receiver.requests) == 1


def test_the_generic_webhook_is_signed_with_hmac_sha256(api, api_user, configure):
    configure(HTTP_ALLOW_PRIVATE="true")
    ada = api_user("ada@example.com")
    secret = "a signing secret of some length"
    with Receiver() as receiver:
        channel = api.post(f"{URL}/channels", json={"name": "Ours", "kind": "webhook", "secrets": {
            "url": receiver.url("/hooks/linkflow"), "signing_secret": secret}}, headers=ada.headers).json()
        assert channel["secrets_set"] == ["signing_secret", "url"]
        assert api.post(f"{URL}/channels/{channel['id']}/test", headers=ada.headers).json()["ok"] is True
        [request] = receiver.wait_for(1)
    timestamp = request.headers["x-linkflow-timestamp"]
    expected = hmac.new(secret.encode(), f"{timestamp}.".encode() + request.body, hashlib.sha256).hexdigest()
    assert request.headers["x-linkflow-signature"] == f"v1={expected}"
    assert request.json()["type"] == "notification" and request.json()["kind"] == "test"
