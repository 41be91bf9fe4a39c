"""Each channel kind delivers ("Send test" through the API, and requested events through the in-process bus):
in-app rows for the team, mail over real SMTP, Slack's bot API with a Slack credential, a Teams card; a
refused address or a rule whose channel is gone sends the event to the DLQ with the reason."""

from __future__ import annotations

import asyncio

from sqlalchemy import select

from backend.db.session import session_scope
from backend.events.bus import Event, InMemoryBus
from backend.events.consumers import DEAD_LETTERED, RetryPolicy, run_consumer
from backend.notifications.consumers import DELIVERY
from backend.notifications.models import Notification, NotificationDelivery
from backend.users.models import Role
from tests.http_receiver import Receiver

URL = "/api/v1/notifications"


def channel(api, who, body) -> dict:
    created = api.post(f"{URL}/channels", json=body, headers=who.headers)
    assert created.status_code == 201, created.text
    return created.json()


def send_test(api, who, channel_id) -> dict:
    answer = api.post(f"{URL}/channels/{channel_id}/test", headers=who.headers)
    assert answer.status_code == 200, answer.text
    return answer.json()


def test_in_app_reaches_every_active_member_of_the_team(api, api_user):
    ada = api_user("ada@example.com")
    bob = api_user("bob@example.com", team_id=ada.team_id, role=Role.VIEWER)
    eve = api_user("eve@example.com")
    bell = channel(api, ada, {"name": "Bell", "kind": "in_app"})
    assert send_test(api, ada, bell["id"]) == {"ok": True, "message": "shown in the bell of 2 members"}
    for who in (ada, bob):
        inbox = api.get(URL, headers=who.headers).json()
        assert inbox["unread"] == 1 and inbox["items"][0]["subject"].startswith("Test message from LinkFlow")
    assert api.get(URL, headers=eve.headers).json()["unread"] == 0


def test_email_goes_to_each_recipient_over_smtp(api, api_user, smtp):
    ada = api_user("ada@example.com")
    mail = channel(api, ada, {"name": "Oncall", "kind": "email",
                              "config": {"recipients": ["oncall@example.com", "lead@example.com"]}})
    assert send_test(api, ada, mail["id"])["ok"] is True
    assert sorted(m["To"] for m in smtp.messages) == ["lead@example.com", "oncall@example.com"]
    smtp.refuse = True
    refused = send_test(api, ada, mail["id"])
    assert refused["ok"] is False and "could not mail" in refused["message"]


def test_slack_bot_mode_posts_with_the_credentials_token(api, api_user, configure):
    configure(HTTP_ALLOW_PRIVATE="true")
    ada = api_user("ada@example.com")
    with Receiver(answer=b'{"ok": true}', content_type="application/json") as slack_api:
        credential = api.post("/api/v1/credentials", headers=ada.headers, json={
            "name": "Slack bot", "type": "slack",
            "values": {"bot_token": "xoxb-secret-token", "api_base_url": slack_api.url("/api")}})
        assert credential.status_code == 201, credential.text
        bot = channel(api, ada, {"name": "Bot", "kind": "slack", "config": {
            "mode": "bot", "channel": "#alerts", "credential_id": credential.json()["id"]}})
        assert bot["secrets_set"] == [] and bot["config"]["channel"] == "#alerts"
        assert send_test(api, ada, bot["id"])["ok"] is True
        [request] = slack_api.wait_for(1)
    assert request.path == "/api/chat.postMessage"
    assert request.headers["authorization"] == "Bearer xoxb-secret-token"
    assert request.json()["channel"] == "#alerts"

    with Receiver(answer=b'{"ok": false, "error": "channel_not_found"}', content_type="application/json") as bad:
        api.patch(f"/api/v1/credentials/{credential.json()['id']}", headers=ada.headers,
                  json={"values": {"bot_token": "xoxb-secret-token", "api_base_url": bad.url("/api")}})
        refused = send_test(api, ada, bot["id"])
    assert refused == {"ok": False, "message": "Slack refused the message: channel_not_found; check the bot token "
                                               "and the channel"}


def test_teams_gets_a_message_card(api, api_user, configure):
    configure(HTTP_ALLOW_PRIVATE="true")
    ada = api_user("ada@example.com")
    with Receiver(answer=b"1") as teams:
        card = channel(api, ada, {"name": "Teams", "kind": "teams", "secrets": {"webhook_url": teams.url("/wh")}})
        assert send_test(api, ada, card["id"])["ok"] is True
        [request] = teams.wait_for(1)
    body = request.json()
    assert body["@type"] == "MessageCard" and body["title"].startswith("Test message from LinkFlow")


async def deliver(events: list[Event]) -> None:
    bus, stop = InMemoryBus(), asyncio.Event()
    task = asyncio.create_task(run_consumer(bus, DELIVERY, stop, RetryPolicy(attempts=2, first_delay_s=0)))
    await asyncio.sleep(0)
    try:
        await bus.publish(events)
    finally:
        stop.set()
        await task


def requested(team_id: str, channel_id: str, request_id: str) -> Event:
    return Event("notification.events", team_id, {
        "type": "notification.requested", "team_id": team_id, "channel": "slack", "kind": "rule.failure",
        "title": 'Workflow "Orders" failed', "request_id": request_id, "channel_id": channel_id, "event_id": 7})


async def test_delivery_sends_each_request_once_and_dead_letters_what_cannot_go(api, api_user, configure):
    ada = api_user("ada@example.com")
    eve = api_user("eve@example.com")
    with Receiver() as slack:
        configure(HTTP_ALLOW_PRIVATE="true")  # saved while internal addresses were allowed ...
        hook = channel(api, ada, {"name": "Slack", "kind": "slack", "secrets": {"webhook_url": slack.url("/s")}})
        configure(HTTP_ALLOW_PRIVATE="false")  # ... and sent after they no longer are
        before = DEAD_LETTERED["notification-delivery"]
        await deliver([requested(ada.team_id, hook["id"], "r1")])  # loopback not allowed: refused, not retried
        assert slack.requests == [] and DEAD_LETTERED["notification-delivery"] == before + 1

        configure(HTTP_ALLOW_PRIVATE="true")
        await deliver([requested(ada.team_id, hook["id"], "r2"), requested(ada.team_id, hook["id"], "r2")])
        assert len(slack.requests) == 1  # the same request twice: sent once
        # another team's request cannot use Ada's channel
        await deliver([requested(eve.team_id, hook["id"], "r3")])
        assert len(slack.requests) == 1 and DEAD_LETTERED["notification-delivery"] == before + 2
    with session_scope() as session:
        rows = {r.id: (r.status, r.error or "") for r in session.scalars(select(NotificationDelivery))}
        assert session.scalars(select(Notification)).all() == []
    assert rows["r2"] == ("sent", "")
    assert rows["r1"][0] == "failed" and "loopback" in rows["r1"][1]
    assert rows["r3"][0] == "failed" and "does not exist in team" in rows["r3"][1]
