"""On SQLite the server's loop writes (webhook group commits, the outbox relay, analytics, the deferred events)
while threads write too: a sync endpoint's transaction is committed by FastAPI's dependency exit, which the loop
schedules onto a thread once the endpoint has returned. Between the two that thread holds SQLite's write lock
and can let go only once the loop turns. A loop that waited for the lock inside SQLite (busy_timeout, 30 s)
then stood still for 30 s: no request was answered (the fresh-clone CI of 516a895: two sign-ups timed out).

Each test holds the lock from a thread that lets go only when a callback of the loop has run, as that commit
does, and checks the loop's write finishes soon after, with the loop turning all the while."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import threading
import time
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import func, insert, select
from sqlalchemy.exc import OperationalError

from backend.analytics.consumers import handle_batch
from backend.analytics.models import AnalyticsSeen
from backend.db import migrate
from backend.db import session as session_module
from backend.db.group_commit import GroupCommit
from backend.db.session import get_engine, session_scope
from backend.events import deferred, relay
from backend.events.bus import Event, InMemoryBus
from backend.events.models import OutboxEvent
from backend.events.outbox import outbox_row
from backend.settings import get_settings

HELD_S = 0.3  # how long after the loop's write starts the loop lets the holder go
PATIENCE_S = 8.0  # the holder lets go by itself after this: a loop that waited inside SQLite shows as ~8 s


@contextlib.asynccontextmanager
async def lock_held_until_the_loop_turns() -> AsyncIterator[list[float]]:
    """A thread takes SQLite's write lock (as a sync endpoint's flush does) and commits only once the loop has
    run `release` (as FastAPI's dependency exit needs the loop). Yields the list the loop's turns are recorded
    in: their gaps show whether the loop stood still."""
    loop = asyncio.get_running_loop()
    taken, release = threading.Event(), threading.Event()

    def hold() -> None:
        conn = sqlite3.connect(get_engine().url.database, timeout=30)
        try:
            conn.execute("BEGIN IMMEDIATE")
            taken.set()
            release.wait(PATIENCE_S)
            conn.commit()
        finally:
            conn.close()

    holder = threading.Thread(target=hold, daemon=True)
    holder.start()
    while not taken.is_set():
        await asyncio.sleep(0.001)
    turns: list[float] = []
    stop = asyncio.Event()

    async def tick() -> None:
        while not stop.is_set():
            turns.append(time.monotonic())
            await asyncio.sleep(0.01)

    ticker = asyncio.create_task(tick())
    loop.call_later(HELD_S, release.set)
    try:
        yield turns
    finally:
        release.set()
        stop.set()
        await ticker
        await asyncio.to_thread(holder.join, 10)


def longest_stall(turns: list[float]) -> float:
    return max((b - a for a, b in zip(turns, turns[1:], strict=False)), default=0.0)


async def finishes_soon(work) -> tuple[object, float]:
    started = time.monotonic()
    result = await asyncio.wait_for(work, PATIENCE_S * 2)
    return result, time.monotonic() - started


def outbox_rows(count: int) -> None:
    with session_scope() as session:
        session.execute(insert(OutboxEvent), [
            outbox_row("workflow.events", f"wf-{n}", {"type": "workflow.deleted", "workflow_id": f"wf-{n}",
                                                      "team_id": "t"}) for n in range(count)])


def unpublished() -> int:
    with session_scope() as session:
        return session.scalar(select(func.count()).select_from(OutboxEvent).where(OutboxEvent.published_at.is_(None)))


async def test_the_relay_waits_for_the_lock_without_stopping_the_loop():
    outbox_rows(3)
    async with lock_held_until_the_loop_turns() as turns:
        published, took = await finishes_soon(relay.relay_once(InMemoryBus()))
    assert published == 3 and unpublished() == 0
    assert took < PATIENCE_S / 2, f"the relay's settle stood still for {took:.1f}s"
    assert longest_stall(turns) < 0.25


async def test_a_group_commit_on_the_loop_waits_for_the_lock_without_stopping_it():
    """The webhook runs, claims, steps and outcomes are written through GroupCommit on a loop."""
    calls: list[int] = []

    def write(rows: list[str]) -> None:
        calls.append(len(rows))
        with session_scope() as session:
            session.execute(insert(OutboxEvent), [outbox_row("workflow.events", key, {
                "type": "workflow.deleted", "workflow_id": key, "team_id": "t"}) for key in rows])

    commit = GroupCommit(write)
    async with lock_held_until_the_loop_turns() as turns:
        _, took = await finishes_soon(asyncio.gather(commit.save("wf-a"), commit.save("wf-b")))
    assert unpublished() == 2, "both were written, once each"
    assert took < PATIENCE_S / 2, f"the group commit stood still for {took:.1f}s"
    assert longest_stall(turns) < 0.25
    assert calls[-1] == 2, "the batch was retried whole, not one by one"


async def test_analytics_on_the_loop_waits_for_the_lock_without_stopping_it(api_user):
    owner = api_user("owner@example.com")
    events = [Event("analytics.events", "wf-1", {
        "type": "usage.executions", "team_id": owner.team_id, "workflow_id": "wf-1", "event_id": n,
        "executions": [{"execution_id": f"ex-{n}", "mode": "webhook", "status": "succeeded",
                        "finished_at": "2026-12-07T10:00:00+00:00", "duration_ms": 5.0, "nodes": 2, "items": 1,
                        "failed_node": None}]}) for n in range(1, 4)]
    async with lock_held_until_the_loop_turns() as turns:
        refused, took = await finishes_soon(handle_batch(events))
    assert refused == {}
    with session_scope() as session:
        assert session.scalar(select(func.count()).select_from(AnalyticsSeen)) == 3
    assert took < PATIENCE_S / 2, f"analytics stood still for {took:.1f}s"
    assert longest_stall(turns) < 0.25


async def test_deferred_events_on_the_loop_wait_for_the_lock_without_stopping_it():
    errors: list[BaseException | None] = []
    batch = deferred.LoopBatch(asyncio.get_running_loop(), deferred.write, "test events", flush_after_s=0.0)
    written = batch._written  # noqa: SLF001 - what the write's outcome was

    def record(pending, error):
        errors.append(error)
        written(pending, error)

    batch._written = record  # noqa: SLF001
    async with lock_held_until_the_loop_turns() as turns:
        started = time.monotonic()
        batch.add(("webhook.events", "wf-1", (("type", "webhook.answered"), ("workflow_id", "wf-1"),
                                              ("team_id", "t")), "requests", [200, 1.0]))
        while not errors and time.monotonic() - started < PATIENCE_S * 2:
            await asyncio.sleep(0.01)
        took = time.monotonic() - started
    assert errors == [None], "written at the first try, after waiting for the lock"
    assert unpublished() == 1
    assert took < PATIENCE_S / 2, f"the deferred write stood still for {took:.1f}s"
    assert longest_stall(turns) < 0.25


def test_a_thread_still_waits_for_the_lock_inside_sqlite():
    """Off the loop nothing changes: a thread's write waits for the lock (busy_timeout) instead of failing."""
    path = get_engine().url.database
    holder = sqlite3.connect(path, timeout=30, check_same_thread=False)
    holder.execute("BEGIN IMMEDIATE")
    threading.Timer(0.2, holder.commit).start()
    try:
        outbox_rows(1)
    finally:
        time.sleep(0.25)
        holder.close()
    assert unpublished() == 1


@pytest.fixture(autouse=True)
def _migrated_sqlite():
    migrate.upgrade(get_settings().database_url)
    assert get_engine().dialect.name == "sqlite"


def locked() -> OperationalError:
    return OperationalError("INSERT ...", {}, sqlite3.OperationalError("database is locked"))


async def test_a_group_commit_that_meets_the_lock_one_by_one_keeps_order_and_blames_only_the_bad_entry():
    """A batch with a bad entry is written one by one; the lock held meanwhile only delays the rest."""
    written: list[str] = []
    busy = [True]

    def write(entries: list[str]) -> None:
        if "bad" in entries:
            raise ValueError("bad entry")
        if len(entries) == 1 and entries[0] == "c" and busy[0]:
            busy[0] = False
            raise locked()
        written.extend(entries)

    commit = GroupCommit(write)
    outcomes = await asyncio.wait_for(asyncio.gather(*(commit.save(entry) for entry in ("a", "bad", "c", "d")),
                                                     return_exceptions=True), 5)
    assert outcomes[0] is None and isinstance(outcomes[1], ValueError) and outcomes[2:] == [None, None]
    assert written == ["a", "c", "d"]


async def test_a_lock_held_past_the_limit_fails_the_callers_with_sqlites_error(monkeypatch):
    monkeypatch.setattr(session_module, "LOCK_WAIT_S", 0.2)
    tries: list[float] = []

    def write(entries: list[str]) -> None:
        tries.append(time.monotonic())
        raise locked()

    commit = GroupCommit(write)
    async with asyncio.timeout(5):
        outcome = await asyncio.gather(commit.save("a"), return_exceptions=True)
    assert isinstance(outcome[0], OperationalError) and session_module.lock_busy(outcome[0])
    assert tries[-1] - tries[0] >= 0.2 and len(tries) > 5, "it tried again, with pauses, for the limit"
    tries.clear()
    await asyncio.gather(commit.save("b"), return_exceptions=True)
    assert tries[-1] - tries[0] >= 0.2, "the next write waits afresh"


async def test_write_on_loop_undoes_a_failed_try_and_passes_other_errors_through():
    undone: list[int] = []
    tries = iter([locked(), locked(), "done"])

    def write() -> str:
        outcome = next(tries)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    assert await session_module.write_on_loop(write, undo=lambda: undone.append(1)) == "done"
    assert undone == [1, 1]

    def broken() -> None:
        raise OperationalError("INSERT ...", {}, sqlite3.OperationalError("no such table: nowhere"))

    with pytest.raises(OperationalError, match="no such table"):
        await session_module.write_on_loop(broken)
