"""Notification rules on the scaled-out path, on a real Kafka: a failing production run (the engine's own
`finish` in PostgreSQL) → execution.events → the `notification-rules` consumer → notification.events →
the `notification-delivery` consumer (both run by `linkflow consume --service notifications`, a real process) → a Slack-compatible HTTP receiver on 127.0.0.1 (it stands in for
Slack, a third-party SaaS) and a mail over real SMTP (aiosmtpd on 127.0.0.1). A redelivered batch sends
nothing twice, a second failure in the burst sends nothing, and a poison event lands in dlq.events with
the reason."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import uuid

import pytest
from aiokafka import AIOKafkaConsumer
from sqlalchemy import select, update
from test_notifications_kafka import REPO, committed_offsets, kafka, smtp  # noqa: F401 - fixtures

from backend.db.session import session_scope
from backend.events.bus import Event
from backend.events.models import OutboxEvent
from backend.events.relay import relay_once
from backend.executions import service as executions
from backend.executions.models import ExecutionStatus
from backend.notifications import channels, rules
from backend.notifications.models import NotificationDelivery
from backend.users.service import create_user
from backend.workflows.models import Workflow
from tests.http_receiver import Receiver

pytestmark = pytest.mark.integration


def setup_team(slack_url: str, gone_url: str) -> tuple[str, str]:
    """Ada's team, her workflow "Orders", and three on-failure rules: Slack, mail, and a webhook whose
    endpoint answers 404."""
    with session_scope() as session:
        user, team = create_user(session, email="ada@example.com", password="a long enough password", name="Ada")
        workflow = Workflow(team_id=team.id, name="Orders", created_by=user.id)
        session.add(workflow)
        session.flush()
        slack = channels.create_channel(session, team_id=team.id, user_id=user.id, name="Slack", kind="slack",
                                        config={}, secrets={"webhook_url": slack_url})
        mail = channels.create_channel(session, team_id=team.id, user_id=user.id, name="Mail", kind="email",
                                       config={"recipients": ["oncall@example.com"]}, secrets={})
        gone = channels.create_channel(session, team_id=team.id, user_id=user.id, name="Gone", kind="teams",
                                       config={}, secrets={"webhook_url": gone_url})
        for channel in (slack, mail, gone):
            rules.create_rule(session, team_id=team.id, user_id=user.id, values={
                "name": f"{channel.name} on failure", "channel_id": channel.id, "trigger": "failure",
                "workflow_id": workflow.id, "window_s": 600})
        return team.id, workflow.id


def fail_a_run(team_id: str, workflow_id: str) -> str:
    with session_scope() as session:
        execution_id = executions.create_execution(session, team_id=team_id, definition={}, mode="webhook",
                                                   workflow_id=workflow_id).id
    with session_scope() as session:
        assert executions.claim(session, execution_id, "worker-1") is not None
        assert executions.finish(session, execution_id, "worker-1", status=ExecutionStatus.FAILED,
                                 error={"node": "Check stock", "message": "order 42 has no customer"})
    return execution_id


async def relay_until(bus, done, timeout_s: float = 60) -> None:
    """Relay the outbox (the consumers write follow-up events to it) until `done()` holds."""
    for _ in range(int(timeout_s * 10)):
        await relay_once(bus)
        if done():
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"not done within {timeout_s} s")


def statuses() -> dict[str, str]:
    with session_scope() as session:
        return {row.title + ":" + (row.channel_id or ""): row.status
                for row in session.scalars(select(NotificationDelivery))}


async def dead_letters(bootstrap: str, prefix: str, count: int) -> list[dict]:
    consumer = AIOKafkaConsumer(prefix + "dlq.events", bootstrap_servers=bootstrap, auto_offset_reset="earliest",
                                group_id=f"{prefix}reader-{uuid.uuid4().hex[:6]}")
    await consumer.start()
    found: list[dict] = []
    try:
        for _ in range(120):
            batch = await consumer.getmany(timeout_ms=500)
            found += [json.loads(r.value) for records in batch.values() for r in records]
            if len(found) >= count:
                break
    finally:
        await consumer.stop()
    return found


async def test_a_failing_run_reaches_slack_and_mail_once_and_poison_goes_to_the_dlq(
        kafka, kafka_bootstrap, postgres_url, smtp, configure):  # noqa: F811 - the fixtures imported above
    prefix, bus = kafka
    inbox, port = smtp
    configure(MAIL_SMTP_HOST="127.0.0.1", MAIL_SMTP_PORT=str(port), MAIL_SMTP_STARTTLS="false",
              HTTP_ALLOW_PRIVATE="true")  # the receivers listen on loopback
    env = {**os.environ, "LINKFLOW_DATABASE_URL": postgres_url, "LINKFLOW_EVENTS_BACKEND": "kafka",
           "LINKFLOW_EVENTS_KAFKA_BOOTSTRAP": kafka_bootstrap, "LINKFLOW_EVENTS_TOPIC_PREFIX": prefix,
           "LINKFLOW_MAIL_SMTP_HOST": "127.0.0.1", "LINKFLOW_MAIL_SMTP_PORT": str(port),
           "LINKFLOW_MAIL_SMTP_STARTTLS": "false", "LINKFLOW_HTTP_ALLOW_PRIVATE": "true", "LINKFLOW_LOG_FORMAT": "text"}
    with Receiver() as slack, Receiver(status=404, answer=b"no such webhook") as gone:
        team_id, workflow_id = setup_team(slack.url("/services/T1/B1/secret"), gone.url("/webhookb2/x"))
        # the deployed role: one process, the notifications service's three consumer groups
        role = subprocess.Popen([sys.executable, "-m", "backend.cli", "consume", "--service", "notifications"],
                                cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        try:
            execution_id = fail_a_run(team_id, workflow_id)
            await relay_until(bus, lambda: slack.requests and len(inbox.messages) == 2 and gone.requests)
            [request] = slack.requests
            assert request.path == "/services/T1/B1/secret"
            text = request.json()["text"]
            assert 'Workflow "Orders" failed' in text and "order 42 has no customer" in text and execution_id in text
            # the rule's mail, and (the same role's `notifications` group) the creator's own failure mail
            [mail] = [m for m in inbox.messages if m["To"] == "oncall@example.com"]
            assert mail["Subject"] == 'Workflow "Orders" failed'
            assert [m["To"] for m in inbox.messages if m is not mail] == ["ada@example.com"]

            # The 404 of the Teams stand-in cannot be fixed by retrying: dead-lettered with the reason.
            [dead] = await dead_letters(kafka_bootstrap, prefix, 1)
            assert dead["service"] == "notification-delivery" and "answered 404" in dead["error"]
            assert dead["event"]["payload"]["type"] == "notification.requested"

            # A second failure inside the burst's window: counted, not sent.
            fail_a_run(team_id, workflow_id)
            rules_group = prefix + "notification-rules"
            for _ in range(300):
                await relay_once(bus)
                if await committed_offsets(kafka_bootstrap, rules_group) == 4:  # 2 × (queued, failed)
                    break
                await asyncio.sleep(0.1)
            assert await committed_offsets(kafka_bootstrap, rules_group) == 4

            # The relay crashed before marking its rows published: every event goes out again.
            with session_scope() as session:
                republished = session.execute(update(OutboxEvent).values(published_at=None)).rowcount
            delivery_group = prefix + "notification-delivery"
            before = await committed_offsets(kafka_bootstrap, delivery_group)
            while await relay_once(bus):
                pass
            for _ in range(600):
                if (await committed_offsets(kafka_bootstrap, rules_group) >= 8
                        and await committed_offsets(kafka_bootstrap, prefix + "notifications") >= 8
                        and await committed_offsets(kafka_bootstrap, delivery_group) >= before + 3):
                    break
                await asyncio.sleep(0.1)
            assert await committed_offsets(kafka_bootstrap, delivery_group) >= before + 3, republished
            await asyncio.sleep(1)
            to = [m["To"] for m in inbox.messages]
            assert len(slack.requests) == 1 and to.count("oncall@example.com") == 1, "a redelivered batch sent again"
            assert to.count("ada@example.com") == 2  # the creator's own mail: one per failed run, once each
            assert sorted(statuses().values()) == ["failed", "sent", "sent"]

            # A poison event: no title, an unknown field. Refused by its schema, dead-lettered with the reason.
            await bus.publish([Event("notification.events", team_id, {
                "type": "notification.requested", "team_id": team_id, "channel": "slack", "kind": "x",
                "surprise": 1, "event_id": 999_999})])
            letters = await dead_letters(kafka_bootstrap, prefix, 3)
            poison = [d for d in letters if d["event"]["payload"].get("event_id") == 999_999]
            assert poison and "title" in poison[0]["error"] and "surprise" in poison[0]["error"]
            assert len(slack.requests) == 1
        finally:
            role.send_signal(signal.SIGTERM)
            output, _ = role.communicate(timeout=30)
    assert role.returncode == 0, output
