"""The audit consumer writes one row per audit.log event, however often the event arrives."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import select

from backend.audit.consumers import CONSUMER
from backend.audit.models import AuditLog
from backend.db import migrate
from backend.db.session import session_scope
from backend.events.bus import InMemoryBus
from backend.events.consumers import RetryPolicy, run_consumer
from backend.events.models import OutboxEvent
from backend.events.outbox import emit
from backend.events.relay import relay_once
from backend.settings import get_settings


@pytest.fixture
async def audit_bus():
    migrate.upgrade(get_settings().database_url)
    bus, stop = InMemoryBus(), asyncio.Event()
    task = asyncio.create_task(run_consumer(bus, CONSUMER, stop, RetryPolicy(first_delay_s=0)))
    await asyncio.sleep(0)
    yield bus
    stop.set()
    await task


def audit_rows() -> list[AuditLog]:
    with session_scope() as session:
        return list(session.scalars(select(AuditLog).order_by(AuditLog.id)))


def emit_audit(key: str, payload: dict) -> None:
    with session_scope() as session:
        emit(session, "audit.log", key, payload)


async def test_a_relayed_event_becomes_one_row_even_when_delivered_twice(audit_bus):
    emit_audit("team-1", {"action": "variable.update", "actor_id": "u1", "actor_type": "api_key",
                          "team_id": "team-1", "object_type": "variable", "object_id": "v1",
                          "details": {"key": "REGION"}, "ip": "203.0.113.9"})
    seen = []
    original = audit_bus.publish

    async def publish_and_remember(events):
        seen.extend(events)
        await original(events)

    audit_bus.publish = publish_and_remember
    assert await relay_once(audit_bus) == 1
    await original(seen)  # the relay crashed before marking it published: it goes out again
    [row] = audit_rows()
    assert (row.team_id, row.actor_id, row.actor_type, row.action) == ("team-1", "u1", "api_key", "variable.update")
    assert (row.object_type, row.object_id, row.ip, row.details) == ("variable", "v1", "203.0.113.9", {"key": "REGION"})
    assert row.event_id == seen[0].event_id
    assert row.created_at.isoformat() == seen[0].payload["occurred_at"]


async def test_fields_an_emitter_adds_are_kept_in_details(audit_bus):
    emit_audit("team-1", {"action": "credential.create", "team_id": "team-1", "credential_id": "cred-1",
                          "name": "Stripe live", "actor_id": None})
    await relay_once(audit_bus)
    [row] = audit_rows()
    assert row.details == {"credential_id": "cred-1", "name": "Stripe live"}
    assert row.actor_type == "system"


async def test_an_event_without_an_action_is_dead_lettered_and_later_events_still_land(audit_bus):
    dlq, stop = [], asyncio.Event()

    async def record(event):
        dlq.append(event)

    watcher = asyncio.create_task(audit_bus.run_consumer("dlq-watch", ("dlq.events",), record, stop))
    await asyncio.sleep(0)
    with session_scope() as session:  # written past `emit` (which refuses it): an older or foreign producer
        session.add(OutboxEvent(topic="audit.log", key="team-1", payload={"team_id": "team-1", "object_id": "x"}))
    emit_audit("team-1", {"action": "workflow.delete", "team_id": "team-1"})
    assert await relay_once(audit_bus) == 2
    assert [row.action for row in audit_rows()] == ["workflow.delete"]
    [dead] = dlq
    # The relay refuses it before it reaches audit.log (the consumer's own check is for events that come
    # from elsewhere: tests/unit/backend/events/test_event_schemas.py)
    assert dead.payload["service"] == "outbox-relay" and dead.payload["attempts"] == 0
    assert "audit.log event audit.entry v1 does not match its schema: action: Field required" in dead.payload["error"]
    assert dead.payload["event"]["payload"]["object_id"] == "x"
    stop.set()
    await watcher
