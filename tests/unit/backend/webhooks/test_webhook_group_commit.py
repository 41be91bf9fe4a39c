"""Runs that finish together share a transaction; one bad run does not sink the others."""

from __future__ import annotations

import asyncio
import functools
import sqlite3
import threading
import time

import pytest
from sqlalchemy import event, func, select, update
from sqlalchemy.exc import IntegrityError, OperationalError
from webhook_testkit import executions, flow, hook

from backend.db import session as session_module
from backend.db.session import get_engine, not_waiting_for_the_lock, session_scope
from backend.engine.runner import RunResult
from backend.events.models import OutboxEvent
from backend.events.packed import events_of_row
from backend.executions.models import Execution
from backend.webhooks import group_commit
from backend.webhooks.persist import (
    WEB_WORKER_ID,
    FinishedRun,
    RunDraft,
    dumps,
    ordered_id,
    write_queued,
    write_runs,
)


def finished(team_id: str) -> FinishedRun:
    draft = RunDraft(id=ordered_id(), team_id=team_id, workflow_id=None, version_id=None,
                     definition_json=dumps(flow(hook())), mode="webhook", input=[{"json": {}}])
    return FinishedRun(draft, RunResult("succeeded", output=[{"json": {"ok": True}}]), [])


def test_runs_finishing_together_share_one_transaction(team, monkeypatch):
    batches = []
    write = group_commit.write_runs
    monkeypatch.setattr(group_commit, "write_runs", lambda runs: (batches.append(len(runs)), write(runs)))

    async def finish_together():
        await asyncio.gather(*(group_commit.save_finished(finished(team.team_id)) for _ in range(5)))

    asyncio.run(finish_together())
    assert batches == [5]
    assert [e.output for e in executions()] == [[{"json": {"ok": True}}]] * 5


def test_a_run_that_cannot_be_saved_fails_alone(team):
    async def finish_together():
        return await asyncio.gather(group_commit.save_finished(finished(team.team_id)),
                                    group_commit.save_finished(finished("no-such-team")),
                                    group_commit.save_finished(finished(team.team_id)), return_exceptions=True)

    outcomes = asyncio.run(finish_together())
    assert outcomes[0] is None and outcomes[2] is None
    assert isinstance(outcomes[1], IntegrityError)
    assert len(executions()) == 2


def test_ordered_ids_sort_by_creation():
    ids = []
    for _ in range(3):
        ids.append(ordered_id())
        asyncio.run(asyncio.sleep(0.002))
    assert ids == sorted(ids) and all(len(i) == 32 and int(i, 16) for i in ids)


def test_runs_reaching_their_first_side_effect_together_are_recorded_in_one_transaction(team, monkeypatch):
    batches = []
    write = group_commit.write_recorded
    monkeypatch.setattr(group_commit, "write_recorded", lambda drafts: (batches.append(len(drafts)), write(drafts)))
    drafts = [finished(team.team_id).draft for _ in range(4)]

    async def record_together():
        await asyncio.gather(*(group_commit.save_recorded(draft) for draft in drafts))

    asyncio.run(record_together())
    assert batches == [4]
    assert [(e.status, e.lease_owner) for e in executions()] == [("running", WEB_WORKER_ID)] * 4


def test_a_recorded_run_is_finished_under_its_lease_and_a_lost_lease_wins(team):
    kept, lost = finished(team.team_id), finished(team.team_id)
    for run in (kept, lost):
        run.recorded = True
        asyncio.run(group_commit.save_recorded(run.draft))
    with session_scope() as session:  # a user cancelled the second one while it ran
        session.execute(update(Execution).where(Execution.id == lost.draft.id)
                        .values(status="cancelled", lease_owner=None))

    async def finish_together():
        await asyncio.gather(group_commit.save_finished(kept), group_commit.save_finished(lost))

    asyncio.run(finish_together())
    by_id = {e.id: e for e in executions()}
    assert (by_id[kept.draft.id].status, by_id[kept.draft.id].output) == ("succeeded", [{"json": {"ok": True}}])
    assert by_id[lost.draft.id].status == "cancelled" and by_id[lost.draft.id].output is None


def test_webhooks_answering_at_once_are_queued_in_one_transaction_and_sent_in_one_batch(team, monkeypatch):
    from backend.events.models import OutboxEvent
    from backend.executions import dispatch
    from backend.webhooks import sender

    batches, sends = [], []
    write = group_commit.write_queued
    monkeypatch.setattr(group_commit, "write_queued", lambda drafts: (batches.append(len(drafts)), write(drafts)))
    monkeypatch.setattr(dispatch, "dispatch_many", lambda ids: sends.append(list(ids)))
    drafts = [finished(team.team_id).draft for _ in range(3)]

    async def arrive_together():
        await asyncio.gather(*(group_commit.save_queued(draft) for draft in drafts))
        await asyncio.gather(*(sender.send_soon(draft.id) for draft in drafts))

    asyncio.run(arrive_together())
    assert batches == [3] and sends == [[draft.id for draft in drafts]]
    assert sorted((e.status, e.attempts, e.started_at) for e in executions()) == [("queued", 0, None)] * 3
    with session_scope() as session:
        assert sorted(event.payload["type"] for event in session.query(OutboxEvent)) == ["execution.queued"] * 3


def test_a_batch_that_cannot_be_sent_stays_queued_for_the_reaper(team, monkeypatch):
    from backend.executions import dispatch
    from backend.webhooks import sender

    def broken(ids):
        raise ConnectionError("redis is down")

    monkeypatch.setattr(dispatch, "dispatch_many", broken)
    draft = finished(team.team_id).draft

    async def arrive():
        await group_commit.save_queued(draft)
        await sender.send_soon(draft.id)  # does not raise: the answer was given, the row is the truth

    asyncio.run(arrive())
    assert [e.status for e in executions()] == ["queued"]


def test_the_status_events_of_runs_committed_together_are_one_packed_row_but_a_waiting_runs(team):
    """One outbox row for the outcomes of a group commit (the relay publishes one event per run); a run left
    waiting keeps a row of its own, keyed by it, so that its later events cannot overtake it."""
    runs = [finished(team.team_id) for _ in range(3)]
    runs[1].result = RunResult("failed", error={"node": "Set", "message": "boom", "item_index": 0})
    runs[2].result = RunResult("waiting", wait_on_webhook=True)
    write_runs(runs)
    with session_scope() as session:
        rows = session.execute(select(OutboxEvent.key, OutboxEvent.payload)
                               .where(OutboxEvent.topic == "execution.events").order_by(OutboxEvent.id)).all()
    assert [(row.key, row.payload["type"]) for row in rows] == [
        (runs[2].draft.id, "execution.waiting"), (runs[0].draft.id, "execution.outcomes")]
    events = [(key, event["type"], event["error"]) for row in rows for key, event in events_of_row(row.key, row.payload)]
    assert events == [(runs[2].draft.id, "execution.waiting", None),
                      (runs[0].draft.id, "execution.succeeded", None),
                      (runs[1].draft.id, "execution.failed", {"node": "Set", "message": "boom", "item_index": 0})]


def hold_the_write_lock(taken: threading.Event, release: threading.Event) -> None:
    """Another connection's write transaction, from `taken` until `release` (10 s at most)."""
    conn = sqlite3.connect(get_engine().url.database, timeout=30)
    conn.execute("BEGIN IMMEDIATE")
    taken.set()
    release.wait(10)
    conn.commit()
    conn.close()


def test_saved_runs_on_sqlite_go_straight_to_the_driver_and_fail_as_sqlalchemys_errors(team):
    """No SQLAlchemy connection is checked out for them (backend.db.session.driver_transaction); a run refused by
    the database is refused with SQLAlchemy's IntegrityError, and the driver's connection goes on working."""
    checkouts = []
    engine = get_engine()
    listener = lambda *_: checkouts.append(1)  # noqa: E731
    event.listen(engine, "checkout", listener)
    try:
        asyncio.run(group_commit.save_finished(finished(team.team_id)))
        assert checkouts == []
        with pytest.raises(IntegrityError, match="FOREIGN KEY"):
            asyncio.run(group_commit.save_finished(finished("no-such-team")))
        asyncio.run(group_commit.save_finished(finished(team.team_id)))
    finally:
        event.remove(engine, "checkout", listener)
    assert len(executions()) == 2
    with session_scope() as session:
        assert session.scalar(select(func.count()).select_from(OutboxEvent)) == 4, "two outcomes, two usage facts"


def test_a_saved_run_waits_for_the_lock_another_connection_holds_then_is_written_once(team):
    """BEGIN IMMEDIATE on the driver fails at once while another connection writes; the group commit pauses with
    the loop turning and writes the batch whole once the lock is free."""
    taken, release = threading.Event(), threading.Event()
    hold = functools.partial(hold_the_write_lock, taken, release)

    async def save_while_held() -> tuple[float, int]:
        holder = threading.Thread(target=hold, daemon=True)
        holder.start()
        await asyncio.to_thread(taken.wait, 10)
        turns = 0

        async def turn() -> None:
            nonlocal turns
            while not release.is_set():
                turns += 1
                await asyncio.sleep(0.01)

        ticker = asyncio.create_task(turn())
        asyncio.get_running_loop().call_later(0.3, release.set)
        started = time.monotonic()
        await asyncio.gather(*(group_commit.save_finished(finished(team.team_id)) for _ in range(3)))
        took = time.monotonic() - started
        await ticker
        await asyncio.to_thread(holder.join, 10)
        return took, turns

    took, turns = asyncio.run(save_while_held())
    assert 0.25 < took < 5, took
    assert turns >= 10, "the loop turned while the batch waited"
    assert len(executions()) == 3


def test_a_disposed_engine_closes_the_driver_connections_and_the_next_write_opens_one(team):
    file = session_module._driver_files[get_engine()]
    asyncio.run(group_commit.save_finished(finished(team.team_id)))
    opened = file.open_connections()
    assert len(opened) == 1
    get_engine().dispose()
    with pytest.raises(sqlite3.ProgrammingError):
        opened[0].execute("SELECT 1")  # closed
    asyncio.run(group_commit.save_finished(finished(team.team_id)))
    assert len(file.open_connections()) == 1 and file.open_connections()[0] is not opened[0]
    assert len(executions()) == 2


def test_the_driver_connection_of_a_thread_that_ended_is_closed_when_another_opens_one(team):
    file = session_module._driver_files[get_engine()]
    thread = threading.Thread(target=lambda: write_queued([finished(team.team_id).draft]))
    thread.start()
    thread.join(10)
    [theirs] = file.open_connections()
    asyncio.run(group_commit.save_finished(finished(team.team_id)))  # this thread's first: the other's is closed
    [ours] = file.open_connections()
    assert ours is not theirs
    with pytest.raises(sqlite3.ProgrammingError):
        theirs.execute("SELECT 1")
    assert len(executions()) == 2


def test_an_in_memory_database_has_no_driver_connection():
    engine = session_module.make_engine("sqlite://")
    with session_module.driver_transaction(engine) as driver:
        assert driver is None
    engine.dispose()


def test_a_driver_transaction_on_a_thread_waits_for_the_lock_and_on_the_loop_does_not(team):
    """Queued webhooks are written from the pipelined group commit's thread, which waits inside SQLite for the
    lock as the engine's connections do; the loop's writes (`not_waiting_for_the_lock`) fail at once instead."""
    taken, release = threading.Event(), threading.Event()
    hold = functools.partial(hold_the_write_lock, taken, release)

    holder = threading.Thread(target=hold, daemon=True)
    holder.start()
    assert taken.wait(10)
    try:
        started = time.monotonic()
        with pytest.raises(OperationalError, match="database is locked"), not_waiting_for_the_lock(), \
                session_module.driver_transaction(get_engine()):
            pass  # BEGIN IMMEDIATE, on entering, is what fails
        assert time.monotonic() - started < 0.5
        threading.Timer(0.3, release.set).start()
        started = time.monotonic()
        write_queued([finished(team.team_id).draft])
        assert 0.25 < time.monotonic() - started < 10
    finally:
        release.set()
        holder.join(10)
    assert [e.status for e in executions()] == ["queued"]
