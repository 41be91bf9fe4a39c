"""Worker heartbeats: upserted while a process runs, removed on a clean stop, pruned after a day."""

from __future__ import annotations

import asyncio
import os
import socket
from datetime import timedelta

import pytest
from sqlalchemy import select

from backend.db import migrate
from backend.db.base import utcnow
from backend.db.session import session_scope
from backend.events.consumers import registry
from backend.executions import heartbeats
from backend.executions.models import WorkerHeartbeat
from backend.settings import get_settings
from executors.embedded import run_embedded
from executors.heartbeat import heartbeat_loop


@pytest.fixture(autouse=True)
def database():
    migrate.upgrade(get_settings().database_url)


def rows() -> list[WorkerHeartbeat]:
    with session_scope() as session:
        return list(session.scalars(select(WorkerHeartbeat).order_by(WorkerHeartbeat.id)))


def test_a_beat_inserts_once_then_refreshes_the_same_row():
    start = utcnow() - timedelta(minutes=5)
    with session_scope() as session:
        heartbeats.beat(session, "h:1:worker", role="worker", details={"processed": 1}, started_at=start,
                        now=start)
    with session_scope() as session:
        heartbeats.beat(session, "h:1:worker", role="worker", details={"processed": 7}, started_at=utcnow())
    [row] = rows()
    assert (row.hostname, row.pid, row.role, row.details) == ("h", 1, "worker", {"processed": 7})
    assert row.started_at == start and row.last_seen_at > start  # started_at stays the first one


def test_rows_silent_for_a_day_are_pruned_and_the_others_kept():
    now = utcnow()
    with session_scope() as session:
        heartbeats.beat(session, "old:1:worker", role="worker", details={}, started_at=now,
                        now=now - timedelta(days=1, minutes=1))
        heartbeats.beat(session, "dead:2:worker", role="worker", details={}, started_at=now,
                        now=now - timedelta(hours=3))
        heartbeats.beat(session, "new:3:worker", role="worker", details={}, started_at=now, now=now)
    with session_scope() as session:
        assert heartbeats.prune(session, now) == 1
        statuses = {w.id: w.alive for w in heartbeats.list_workers(session, now)}
    assert statuses == {"new:3:worker": True, "dead:2:worker": False}


def test_an_unknown_role_is_refused():
    with pytest.raises(ValueError, match="unknown heartbeat role"):
        heartbeats.process_id("gardener")


async def wait_for(predicate, timeout_s: float = 10):
    for _ in range(int(timeout_s / 0.05)):
        if found := predicate():
            return found
        await asyncio.sleep(0.05)
    raise AssertionError("condition not met in time")


async def test_the_loop_beats_with_its_details_and_removes_its_row_on_stop():
    stop = asyncio.Event()
    calls = []
    task = asyncio.create_task(heartbeat_loop(stop, "consume", lambda: calls.append(1) or {"service": "audit"},
                                              interval_s=0.05))
    await wait_for(lambda: len(calls) >= 3)
    [row] = rows()
    assert row.id == f"{socket.gethostname()}:{os.getpid()}:consume"
    assert row.details["service"] == "audit" and row.details["version"]
    stop.set()
    await task
    assert rows() == []


async def test_embedded_mode_reports_its_in_process_worker():
    async with run_embedded():
        [row] = await wait_for(rows)
        assert row.role == "embedded" and row.pid == os.getpid()
        assert row.details["queues"] == ["executions"] and row.details["threads"] == get_settings().queue.worker_threads
        assert row.details["consumers"] == sorted(registry()) and "audit" in row.details["consumers"]
        assert "processed" in row.details
    assert rows() == []


def test_every_finished_execution_counts_in_the_processed_figure():
    import contextlib

    from executors import actors
    from executors.heartbeat import processed

    before = processed.value
    with contextlib.suppress(Exception):  # an unknown id: nothing to run, still one message handled
        actors.run_execution.fn("no-such-execution")
    assert processed.value == before + 1
