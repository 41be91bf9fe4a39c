"""On SQLite (`linkflow up`) the event pipeline runs on the server's loop, in slices that give way to the
requests in flight (backend/foreground.py): the outbox relay and the deferred event writes."""

from __future__ import annotations

import asyncio
import threading
from datetime import timedelta

from sqlalchemy import insert, select

from backend import foreground
from backend.db.base import utcnow
from backend.db.session import get_engine, session_scope
from backend.events import deferred, relay
from backend.events.bus import InMemoryBus
from backend.events.models import OutboxEvent
from backend.events.outbox import outbox_row
from backend.foreground import request_finished, request_started


async def turns(n: int = 5) -> None:
    for _ in range(n):
        await asyncio.sleep(0)


def outbox_rows(count: int, *, age_s: float = 0.0) -> None:
    created = utcnow() - timedelta(seconds=age_s)
    with session_scope() as session:
        session.execute(insert(OutboxEvent), [
            {**outbox_row("workflow.events", f"wf-{n}", {"type": "workflow.deleted", "workflow_id": f"wf-{n}",
                                                        "team_id": "t"}), "created_at": created}
            for n in range(count)])


def unpublished() -> int:
    with session_scope() as session:
        return len(session.scalars(select(OutboxEvent.id).where(OutboxEvent.published_at.is_(None))).all())


async def test_on_sqlite_the_relay_reads_checks_and_settles_on_the_loop_in_order(listen, monkeypatch):
    """More rows than a page: every one is published once, in order, and no thread did the work."""
    assert get_engine().dialect.name == "sqlite"

    async def no_thread(*args, **kwargs):
        raise AssertionError("the relay hopped to a thread on SQLite")

    monkeypatch.setattr(relay.asyncio, "to_thread", no_thread)
    bus = InMemoryBus()
    seen = await listen(bus, "all", ("workflow.events",))
    outbox_rows(relay.PAGE * 2 + relay.SETTLE_CHUNK + 3)
    total = relay.PAGE * 2 + relay.SETTLE_CHUNK + 3
    assert await relay.relay_once(bus) == total
    assert [event.key for event in seen] == [f"wf-{n}" for n in range(total)]
    assert unpublished() == 0
    assert await relay.relay_once(bus) == 0


async def test_the_relay_on_the_loop_waits_for_a_request_in_flight(listen, monkeypatch):
    monkeypatch.setattr(foreground, "SLICE_S", 0.0)  # give way at every step
    monkeypatch.setattr(foreground, "GIVE_WAY_MAX_S", 60.0)
    bus = InMemoryBus()
    seen = await listen(bus, "all", ("workflow.events",))
    outbox_rows(5)
    request_started()
    try:
        relaying = asyncio.create_task(relay.relay_once(bus))
        await turns(20)
        assert not relaying.done() and seen == [], "the relay went on while a request was in flight"
    finally:
        request_finished()
    assert await asyncio.wait_for(relaying, 5) == 5
    assert len(seen) == 5


async def test_a_relay_behind_by_more_than_its_limit_does_not_wait(listen, monkeypatch):
    """Under sustained load requests are always in flight: once its oldest row is old, the relay takes turns."""
    monkeypatch.setattr(foreground, "SLICE_S", 0.0)
    monkeypatch.setattr(foreground, "GIVE_WAY_MAX_S", 60.0)
    bus = InMemoryBus()
    await listen(bus, "all", ("workflow.events",))
    outbox_rows(5, age_s=foreground.BEHIND_S + 5)
    request_started()
    try:
        assert await asyncio.wait_for(relay.relay_once(bus), 5) == 5
    finally:
        request_finished()
        foreground.lagging(0.0)


async def test_on_sqlite_deferred_events_are_written_on_the_loop(monkeypatch):
    threads: list[int] = []
    written = deferred.write

    def write(pending):
        threads.append(threading.get_ident())
        written(pending)

    monkeypatch.setattr(deferred, "FLUSH_AFTER_S", 0.0)
    batch = deferred.LoopBatch(asyncio.get_running_loop(), write, "test events", flush_after_s=0.0)
    batch.add(("webhook.events", "wf-1", (("type", "webhook.answered"), ("workflow_id", "wf-1"), ("team_id", "t")),
               "requests", [200, 1.0]))
    for _ in range(100):
        await asyncio.sleep(0.01)
        if threads:
            break
    assert threads == [threading.get_ident()]
    assert unpublished() == 1


async def test_a_deferred_write_cancelled_with_its_loop_keeps_its_entries():
    batch = deferred.LoopBatch(asyncio.get_running_loop(), lambda pending: None, "test events", flush_after_s=0.0)
    request_started()  # the write waits for it, and is cancelled meanwhile
    try:
        batch.add("entry")
        await turns(3)
        [task] = [t for t in asyncio.all_tasks() if "_write_on_loop" in repr(t)]
        task.cancel()
        await turns(3)
        assert batch._pending == ["entry"]  # noqa: SLF001
    finally:
        request_finished()
