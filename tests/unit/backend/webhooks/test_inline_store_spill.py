"""A webhook run past its inline budget spills to the database from the loop: it must not wait inside SQLite for
the write lock (the loop would stand still, backend/db/session.not_waiting_for_the_lock), and a spill still due
once the run has ended must not write its steps again."""

from __future__ import annotations

import asyncio
import sqlite3
from types import SimpleNamespace

from sqlalchemy.exc import OperationalError

from backend.db.session import _lock_wait_ms
from backend.webhooks import inline_store
from backend.webhooks.inline_store import InlineStore


def locked() -> OperationalError:
    return OperationalError("INSERT ...", {}, sqlite3.OperationalError("database is locked"))


def store_with_writes(monkeypatch, busy_tries: int) -> tuple[InlineStore, list[str]]:
    writes: list[str] = []
    left = [busy_tries]

    def write_recorded(drafts) -> None:
        assert _lock_wait_ms.get() == 0, "the spill waited inside SQLite for the lock"
        if left[0]:
            left[0] -= 1
            raise locked()
        writes.append("row")

    def write_steps(draft, steps) -> None:
        writes.append(f"steps:{len(steps)}")

    monkeypatch.setattr(inline_store, "write_recorded", write_recorded)
    monkeypatch.setattr(inline_store, "write_steps", write_steps)
    monkeypatch.setattr(inline_store, "RETRY_SPILL_S", 0.01)
    monkeypatch.setattr(inline_store.keeper, "hold", lambda *args: None)
    return InlineStore(SimpleNamespace(id="ex-1", team_id="team-1")), writes


async def test_a_spill_that_meets_the_lock_tries_again_with_the_loop_turning(monkeypatch):
    store, writes = store_with_writes(monkeypatch, busy_tries=2)
    store.spill()
    assert writes == [] and store.durable is None
    for _ in range(100):
        await asyncio.sleep(0.01)
        if store.durable is not None:
            break
    assert writes == ["row", "steps:0"], "the row once, then the steps"
    assert store.recorded and store.durable is not None


async def test_a_spill_due_after_the_run_ended_writes_nothing(monkeypatch):
    store, writes = store_with_writes(monkeypatch, busy_tries=1)
    store.spill()  # meets the lock: due again shortly
    store.close()  # the run ended meanwhile; its outcome carries the steps
    await asyncio.sleep(0.1)
    assert writes == [] and store.durable is None
    store.spill()
    assert writes == []


async def test_a_spill_that_keeps_meeting_the_lock_gives_up_after_sqlites_own_wait(monkeypatch, caplog):
    """Like SQLite's busy timeout: `LockWait`'s pauses, and after LOCK_WAIT_S in all the spill stops trying, says so,
    and the run goes on in memory (its outcome is saved at its end)."""
    from backend.db import session

    monkeypatch.setattr(session, "LOCK_WAIT_S", 0.2)
    store, writes = store_with_writes(monkeypatch, busy_tries=10**6)
    tries = [0]
    real = inline_store.write_recorded
    monkeypatch.setattr(inline_store, "write_recorded", lambda drafts: (tries.__setitem__(0, tries[0] + 1),
                                                                        real(drafts))[1])
    store.spill()
    await asyncio.sleep(0.6)
    assert writes == [] and store.durable is None and not store.recorded
    assert 5 <= tries[0] <= 60, tries  # paused 1, 2, 4 ... 20 ms between tries, not a busy loop
    assert "could not make a long webhook run durable" in caplog.text
    settled = tries[0]
    await asyncio.sleep(0.1)
    assert tries[0] == settled, "it stopped trying"
