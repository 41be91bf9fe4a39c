"""A failed production run tells the workflow's creator: a notification row, and a mail over real
SMTP when email_on_failure is on; redelivered events change nothing."""

from __future__ import annotations

from auth_testkit import link_token
from sqlalchemy import select

from backend.db.session import session_scope
from backend.events.consumers import registry
from backend.events.models import OutboxEvent
from backend.events.relay import relay_once
from backend.notifications.consumers import CONSUMER
from backend.notifications.models import Notification

PREFS = "/api/v1/users/me/notifications"
FAILING = {"nodes": [
    {"id": "hook", "name": "Webhook", "type": "webhook", "position": [0, 0],
     "parameters": {"path": "orders", "method": "POST", "respond": "last_node"}},
    {"id": "stop", "name": "Check stock", "type": "stop_and_error", "position": [200, 0],
     "parameters": {"message": "order 42 has no customer"}},
], "connections": [{"from": "hook", "to": "stop"}]}


def deploy_failing_workflow(api, owner) -> str:
    created = api.post("/api/v1/workflows", json={"name": "Orders", "definition": FAILING}, headers=owner.headers)
    assert created.status_code == 201, created.text
    workflow_id = created.json()["id"]
    assert api.post(f"/api/v1/workflows/{workflow_id}/activate", headers=owner.headers).status_code == 200
    return workflow_id


def fail_once(api) -> str:
    response = api.post("/webhook/orders", json={"id": 42})
    assert response.status_code == 500, response.text
    return response.json()["error"]["details"]["execution_id"]


def notifications() -> list[Notification]:
    with session_scope() as session:
        return list(session.scalars(select(Notification).order_by(Notification.channel)))


async def relay_all(bus) -> list:
    """Relay every pending outbox row, remembering what went out (to deliver it again)."""
    sent, original = [], bus.publish

    async def remember(events):
        sent.extend(events)
        await original(events)

    bus.publish = remember
    while await relay_once(bus):
        pass
    bus.publish = original
    return sent


async def test_a_failed_webhook_run_mails_the_creator_over_smtp(api, smtp, signup, bus):
    ada = signup("ada@example.com", name="Ada")
    workflow_id = deploy_failing_workflow(api, ada)
    execution_id = fail_once(api)
    await relay_all(bus)

    assert smtp.received.wait(5)
    [message] = smtp.messages
    assert message["To"] == "ada@example.com" and message["Subject"] == 'Workflow "Orders" failed'
    text = message.get_content()
    assert "order 42 has no customer" in text and '"Check stock"' in text and execution_id in text
    email, in_app = notifications()  # ordered by channel
    assert (in_app.channel, in_app.kind, in_app.user_id) == ("in_app", "execution.failed", ada.user_id)
    assert (email.channel, email.status, email.error) == ("email", "sent", None)
    assert email.sent_at is not None
    assert email.payload["execution_id"] == execution_id and email.payload["workflow_id"] == workflow_id


async def test_with_email_on_failure_off_no_mail_goes_out(api, smtp, signup, bus):
    ada = signup("ada@example.com")
    assert api.put(PREFS, json={"email_on_failure": False}, headers=ada.headers).status_code == 200
    deploy_failing_workflow(api, ada)
    fail_once(api)
    await relay_all(bus)
    [in_app] = notifications()
    assert in_app.channel == "in_app" and in_app.user_id == ada.user_id
    assert not smtp.received.wait(0.5) and smtp.messages == []


async def test_a_redelivered_event_sends_no_second_mail(api, smtp, signup, bus):
    ada = signup("ada@example.com")
    deploy_failing_workflow(api, ada)
    fail_once(api)
    sent = await relay_all(bus)
    failed = [e for e in sent if e.payload.get("type") == "execution.failed"]
    assert len(failed) == 1
    await bus.publish(failed)  # the relay crashed before marking it published: it goes out again
    await bus.publish(failed)
    assert len(smtp.messages) == 1
    assert [n.channel for n in notifications()] == ["email", "in_app"]


async def test_a_refused_mail_is_recorded_and_retried_when_the_event_comes_again(api, smtp, signup, bus):
    ada = signup("ada@example.com")
    deploy_failing_workflow(api, ada)
    fail_once(api)
    smtp.refuse = True
    sent = await relay_all(bus)  # both attempts fail: the event is dead-lettered
    email = next(n for n in notifications() if n.channel == "email")
    assert email.status == "failed" and "451" in email.error
    smtp.refuse = False
    await bus.publish([e for e in sent if e.payload.get("type") == "execution.failed"])
    assert smtp.received.wait(5) and len(smtp.messages) == 1
    assert next(n for n in notifications() if n.channel == "email").status == "sent"


async def test_manual_runs_and_successes_tell_nobody(api, smtp, signup, bus, inline_worker):
    ada = signup("ada@example.com")
    workflow_id = deploy_failing_workflow(api, ada)
    run = api.post(f"/api/v1/workflows/{workflow_id}/run", json={}, headers=ada.headers)
    assert run.status_code in (200, 201, 202), run.text
    await relay_all(bus)
    with session_scope() as session:
        failed = [p for p in session.scalars(select(OutboxEvent.payload)) if p.get("type") == "execution.failed"]
    assert failed and failed[0]["mode"] == "manual", "the manual run did fail"
    assert notifications() == [] and smtp.messages == []


async def test_a_creator_who_left_the_team_is_not_told(api, smtp, signup, bus):
    owner, ada = signup("owner@example.com"), signup("ada@example.com")
    invited = api.post(f"/api/v1/teams/{owner.team_id}/invitations", json={"email": ada.email, "role": "editor"},
                       headers=owner.headers)
    assert invited.status_code == 201 and invited.json()["invite_url"] is None, "SMTP delivers the link"
    assert smtp.received.wait(5)
    token = link_token({"body": smtp.messages[-1].get_content()}, "/invite")
    assert api.post("/api/v1/teams/invitations/accept", json={"token": token}, headers=ada.headers).status_code == 200
    team_headers = ada.in_team(owner.team_id)
    created = api.post("/api/v1/workflows", json={"name": "Orders", "definition": FAILING}, headers=team_headers)
    api.post(f"/api/v1/workflows/{created.json()['id']}/activate", headers=team_headers)
    assert api.delete(f"/api/v1/teams/{owner.team_id}/members/{ada.user_id}", headers=owner.headers).status_code == 204
    fail_once(api)
    await relay_all(bus)
    assert notifications() == []
    assert [m["Subject"] for m in smtp.messages] == [smtp.messages[0]["Subject"]], "only the invitation"
    assert "Join" in smtp.messages[0]["Subject"]


def test_the_consumer_is_registered_for_embedded_mode_and_linkflow_consume():
    assert registry()["notifications"] is CONSUMER
    assert CONSUMER.topics == ("execution.events",)
