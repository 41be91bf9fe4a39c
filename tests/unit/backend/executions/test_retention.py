"""Retention: old finished executions (steps, offloaded files) and published outbox events are deleted."""

from __future__ import annotations

from datetime import timedelta

from executions_testkit import add_execution
from sqlalchemy import func, select

from backend.db.base import utcnow
from backend.db.session import session_scope
from backend.events.models import OutboxEvent
from backend.executions import retention
from backend.executions.models import Execution, ExecutionStep
from backend.settings import get_settings
from backend.storage import keys
from backend.storage.service import get_storage


def _ids() -> set[str]:
    with session_scope() as session:
        return set(session.scalars(select(Execution.id)))


def _count(model) -> int:
    with session_scope() as session:
        return session.scalar(select(func.count()).select_from(model))


def test_finished_executions_past_the_retention_go_with_their_steps_and_files(api_user, configure):
    configure(EXECUTIONS_RETENTION_DAYS="7")
    team = api_user("owner@example.com").team_id
    now = utcnow()
    old_ok = add_execution(team, created_at=now - timedelta(days=8))
    old_failed = add_execution(team, status="failed", created_at=now - timedelta(days=9), failed_node="Fetch")
    old_running = add_execution(team, status="running", created_at=now - timedelta(days=30))
    old_waiting = add_execution(team, status="waiting", created_at=now - timedelta(days=30))
    recent = add_execution(team, created_at=now - timedelta(days=6))
    storage = get_storage()
    storage.put(keys.step_key(team, old_ok, "t", 0, "output"), b"{}")
    storage.put(keys.binary_key(team, old_ok, "a" * 32), b"%PDF")
    storage.put(keys.binary_key(team, recent, "b" * 32), b"kept")
    legacy = get_settings().storage_path / "executions" / old_ok  # a folder of before the storage service
    legacy.mkdir(parents=True)
    (legacy / "t.0.output.json").write_text("{}")

    assert retention.prune(now).executions == 2
    assert _ids() == {old_running, old_waiting, recent}  # unfinished runs are never pruned
    assert not legacy.exists()
    assert list(storage.list(keys.execution_prefix(team, old_ok))) == []
    assert [o.key for o in storage.list(keys.team_prefix(team))] == [keys.binary_key(team, recent, "b" * 32)]
    with session_scope() as session:
        left = set(session.scalars(select(ExecutionStep.execution_id)))
    assert old_ok not in left and old_failed not in left
    assert retention.prune(now).executions == 0


def test_retention_zero_keeps_every_execution(api_user, configure):
    configure(EXECUTIONS_RETENTION_DAYS="0")
    team = api_user("owner@example.com").team_id
    kept = add_execution(team, created_at=utcnow() - timedelta(days=3650))
    assert retention.prune().executions == 0 and kept in _ids()


def test_deletes_go_in_batches_until_done(api_user, configure, monkeypatch):
    configure(EXECUTIONS_RETENTION_DAYS="1")
    monkeypatch.setattr(retention, "BATCH", 2)
    team = api_user("owner@example.com").team_id
    for days in range(2, 7):
        add_execution(team, created_at=utcnow() - timedelta(days=days))
    assert retention.prune().executions == 5 and _ids() == set()


def test_only_published_outbox_events_past_their_hours_are_deleted(api, configure):
    configure(EXECUTIONS_OUTBOX_RETENTION_HOURS="24")
    now = utcnow()
    with session_scope() as session:
        session.add_all([
            OutboxEvent(topic="execution.events", key="a", payload={}, published_at=now - timedelta(hours=25)),
            OutboxEvent(topic="execution.events", key="b", payload={}, published_at=now - timedelta(hours=1)),
            OutboxEvent(topic="execution.events", key="c", payload={}, created_at=now - timedelta(days=3)),
        ])
    before = _count(OutboxEvent)
    assert retention.prune(now).outbox_events == 1
    with session_scope() as session:
        keys = set(session.scalars(select(OutboxEvent.key)))
    assert _count(OutboxEvent) == before - 1 and "a" not in keys and {"b", "c"} <= keys  # unpublished stays
