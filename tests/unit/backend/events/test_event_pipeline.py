"""Embedded mode relays the outbox to every consumer in-process; `linkflow consume` runs one on Kafka."""

from __future__ import annotations

import asyncio

from sqlalchemy import select

from backend.audit.models import AuditLog
from backend.cli import main
from backend.db.base import utcnow
from backend.db.session import session_scope
from backend.events.models import OutboxEvent
from backend.events.outbox import emit
from executors.relay import start_event_pipeline


async def wait_for_rows(count: int, timeout_s: float = 10) -> list[AuditLog]:
    for _ in range(int(timeout_s / 0.05)):
        with session_scope() as session:
            rows = list(session.scalars(select(AuditLog).order_by(AuditLog.id)))
        if len(rows) >= count:
            return rows
        await asyncio.sleep(0.05)
    raise AssertionError(f"{len(rows)} audit rows after {timeout_s}s, expected {count}")


async def test_embedded_mode_writes_the_audit_trail_from_committed_events():
    pipeline = await start_event_pipeline()
    try:
        with session_scope() as session:
            emit(session, "audit.log", "team-1", {"action": "workflow.activate", "actor_id": "u1",
                                                  "team_id": "team-1", "object_type": "workflow",
                                                  "object_id": "wf-1", "details": {"version": 3}})
        [row] = await wait_for_rows(1)
    finally:
        await pipeline.stop()
    assert (row.action, row.actor_id, row.object_id, row.details) == ("workflow.activate", "u1", "wf-1",
                                                                       {"version": 3})
    with session_scope() as session:
        published = session.scalar(select(OutboxEvent.published_at))
    # marked on the loop's driver connection (relay._settle_on_driver): read back as SQLAlchemy wrote it, in UTC
    assert published is not None and published.tzinfo is not None
    assert abs((utcnow() - published).total_seconds()) < 60


def test_consume_names_the_available_consumers_for_an_unknown_service(capsys):
    assert main(["consume", "--service", "nosuch"]) == 2
    assert "no consumer for 'nosuch' yet; available: analytics, audit, notification-delivery, notification-rules, " \
        "notifications, search" in capsys.readouterr().err


def test_consume_refuses_the_in_process_bus(capsys):
    assert main(["consume", "--service", "audit"]) == 2
    assert "LINKFLOW_EVENTS_BACKEND=kafka" in capsys.readouterr().err
