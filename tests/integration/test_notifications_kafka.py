"""Failure notifications on the scaled-out path: an execution failed by the engine's own `finish`
in PostgreSQL, relayed to a real Kafka, consumed by `linkflow consume --service notifications`
(a real process) which mails over a real SMTP server (aiosmtpd on 127.0.0.1); redelivery sends
no second mail."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import threading
import uuid
from email import message_from_bytes, policy
from pathlib import Path

import pytest
from aiokafka.admin import AIOKafkaAdminClient
from aiosmtpd.controller import Controller
from sqlalchemy import select, update

from backend.db import migrate
from backend.db.session import session_scope
from backend.events.bus import KafkaBus, create_bus
from backend.events.models import OutboxEvent
from backend.events.relay import relay_once
from backend.executions import service as executions
from backend.executions.models import ExecutionStatus
from backend.notifications.models import Notification
from backend.users.service import create_user
from backend.workflows.models import Workflow

pytestmark = pytest.mark.integration
REPO = Path(__file__).resolve().parents[2]


class Inbox:
    def __init__(self) -> None:
        self.messages: list = []
        self.received = threading.Event()

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
        self.messages.append(message_from_bytes(envelope.content, policy=policy.default))
        self.received.set()
        return "250 OK"


@pytest.fixture
def smtp():
    inbox = Inbox()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    yield inbox, port
    controller.stop()


@pytest.fixture
async def kafka(postgres_url, kafka_bootstrap, configure):
    prefix = f"lftest-{uuid.uuid4().hex[:10]}."
    configure(DATABASE_URL=postgres_url, EVENTS_BACKEND="kafka", EVENTS_KAFKA_BOOTSTRAP=kafka_bootstrap,
              EVENTS_TOPIC_PREFIX=prefix)
    migrate.upgrade(postgres_url)
    bus = create_bus()
    assert isinstance(bus, KafkaBus)
    yield prefix, bus
    await bus.close()
    admin = AIOKafkaAdminClient(bootstrap_servers=kafka_bootstrap)
    await admin.start()
    try:
        if ours := [topic for topic in await admin.list_topics() if topic.startswith(prefix)]:
            await admin.delete_topics(ours)
    finally:
        await admin.close()


def fail_a_webhook_run() -> str:
    """A workflow and a webhook execution of it that the engine records as failed."""
    with session_scope() as session:
        user, team = create_user(session, email="ada@example.com", password="a long enough password", name="Ada")
        workflow = Workflow(team_id=team.id, name="Orders", created_by=user.id)
        session.add(workflow)
        session.flush()
        execution = executions.create_execution(session, team_id=team.id, definition={}, mode="webhook",
                                                workflow_id=workflow.id)
        execution_id = execution.id
    with session_scope() as session:
        assert executions.claim(session, execution_id, "worker-1") is not None
        assert executions.finish(session, execution_id, "worker-1", status=ExecutionStatus.FAILED,
                                 error={"node": "Check stock", "message": "order 42 has no customer"})
    return execution_id


async def committed_offsets(bootstrap: str, group: str) -> int:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        return sum(meta.offset for meta in (await admin.list_consumer_group_offsets(group)).values())
    finally:
        await admin.close()


def email_rows() -> list[Notification]:
    with session_scope() as session:
        return list(session.scalars(select(Notification).where(Notification.channel == "email")))


async def test_the_consume_role_mails_a_failure_once(kafka, kafka_bootstrap, postgres_url, smtp):
    prefix, bus = kafka
    inbox, port = smtp
    env = {**os.environ, "LINKFLOW_DATABASE_URL": postgres_url, "LINKFLOW_EVENTS_BACKEND": "kafka",
           "LINKFLOW_EVENTS_KAFKA_BOOTSTRAP": kafka_bootstrap, "LINKFLOW_EVENTS_TOPIC_PREFIX": prefix,
           "LINKFLOW_MAIL_SMTP_HOST": "127.0.0.1", "LINKFLOW_MAIL_SMTP_PORT": str(port),
           "LINKFLOW_MAIL_SMTP_STARTTLS": "false", "LINKFLOW_LOG_FORMAT": "text"}
    role = subprocess.Popen([sys.executable, "-m", "backend.cli", "consume", "--service", "notifications"],
                            cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        execution_id = fail_a_webhook_run()
        assert await relay_once(bus) == 2  # queued, failed
        assert await asyncio.to_thread(inbox.received.wait, 60), "no mail within 60 s"
        [message] = inbox.messages
        assert message["To"] == "ada@example.com" and message["Subject"] == 'Workflow "Orders" failed'
        assert "order 42 has no customer" in message.get_content() and execution_id in message.get_content()
        for _ in range(100):
            if [row.status for row in email_rows()] == ["sent"]:
                break
            await asyncio.sleep(0.1)
        assert [row.status for row in email_rows()] == ["sent"]

        # The relay crashed before marking the rows published: the events go out again.
        with session_scope() as session:
            session.execute(update(OutboxEvent).values(published_at=None))
        assert await relay_once(bus) == 2
        group = prefix + "notifications"
        for _ in range(600):
            if await committed_offsets(kafka_bootstrap, group) == 4:
                break
            await asyncio.sleep(0.1)
        assert await committed_offsets(kafka_bootstrap, group) == 4, "the group did not consume the redelivery"
        assert len(inbox.messages) == 1, "a redelivered event sends no second mail"
    finally:
        role.send_signal(signal.SIGTERM)
        output, _ = role.communicate(timeout=30)
    assert role.returncode == 0, output
    assert "consumer stopped" in output
