"""The steps a worker records (backend/executions/sql_store.py) and the outcomes it records (worker_runtime.py)
that come due in one loop iteration share one transaction; one the database refuses fails only its own execution,
and each is committed when its save returns. On SQLite, with the store and the runtime called directly."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import select

from backend.db import migrate
from backend.db.base import utcnow
from backend.db.session import session_scope
from backend.engine.runner import RunResult
from backend.engine.store import StepNotStored, StepRecord
from backend.executions import service, sql_store, worker_runtime
from backend.executions.models import Execution, ExecutionStep
from backend.executions.sql_store import SqlStepStore
from backend.settings import get_settings
from backend.users.service import create_user

DEFINITION = {"name": "steps", "nodes": [
    {"id": "t", "name": "Start", "type": "manual_trigger", "version": 1, "position": [0, 0]}], "connections": []}


@pytest.fixture
def executions(configure) -> tuple[str, list[str]]:
    migrate.upgrade(get_settings().database_url)
    with session_scope() as session:
        _, team = create_user(session, email="steps@example.com", password="long enough password")
        ids = [service.create_execution(session, team_id=team.id, definition=DEFINITION,
                                        input_items=[{"json": {"n": n}}]).id for n in range(5)]
        return team.id, ids


@pytest.fixture
def transactions(monkeypatch) -> list[int]:
    """The number of step rows each write transaction carried."""
    seen: list[int] = []
    write = sql_store._write_steps
    monkeypatch.setattr(sql_store, "_write_steps", lambda rows: (seen.append(len(rows)), write(rows))[1])
    monkeypatch.setattr(sql_store, "_step_writers", type(sql_store._step_writers)())
    return seen


def step(n: int) -> StepRecord:
    return StepRecord(node_id="a", node_name="A", run_index=0, status="succeeded", attempts=1,
                      input={"main": [{"json": {"n": n}}]}, output={"main": [{"json": {"n": n, "done": True}}]},
                      started_at=utcnow(), finished_at=utcnow())


def stored(execution_ids: list[str]) -> dict[str, dict]:
    with session_scope() as session:
        rows = session.scalars(select(ExecutionStep).where(ExecutionStep.execution_id.in_(execution_ids)))
        return {row.execution_id: row.output for row in rows}


def test_steps_due_together_share_one_transaction_and_are_committed_when_saved(executions, transactions):
    team_id, ids = executions

    async def save_all() -> dict[str, dict]:
        stores = [SqlStepStore(execution_id, team_id) for execution_id in ids]
        await asyncio.gather(*(store.save_step(step(n)) for n, store in enumerate(stores)))
        return stored(ids)  # read at once: every save has returned, so every row is committed

    rows = asyncio.run(save_all())

    assert transactions == [5]
    assert rows == {execution_id: {"main": [{"json": {"n": n, "done": True}}]} for n, execution_id in enumerate(ids)}


def test_a_step_alone_is_written_at_once(executions, transactions):
    team_id, ids = executions

    async def one_after_another() -> None:
        for n, execution_id in enumerate(ids[:3]):
            await SqlStepStore(execution_id, team_id).save_step(step(n))
            assert execution_id in stored([execution_id])

    asyncio.run(one_after_another())
    assert transactions == [1, 1, 1]


def test_a_step_the_database_refuses_fails_only_its_own_save(executions, transactions):
    team_id, ids = executions
    gone = "0" * 32  # no such execution: the foreign key refuses its row

    async def save_with_one_refused() -> list:
        stores = [SqlStepStore(ids[0], team_id), SqlStepStore(gone, team_id), SqlStepStore(ids[1], team_id)]
        return await asyncio.gather(*(store.save_step(step(n)) for n, store in enumerate(stores)),
                                    return_exceptions=True)

    outcomes = asyncio.run(save_with_one_refused())

    assert outcomes[0] is None and outcomes[2] is None
    assert isinstance(outcomes[1], StepNotStored)
    assert transactions == [3, 1, 1, 1]  # together, refused; then one by one
    assert set(stored([ids[0], gone, ids[1]])) == {ids[0], ids[1]}


# ---------------------------------------------------------------- the outcomes (worker_runtime)

@pytest.fixture
def outcome_transactions(monkeypatch) -> list[int]:
    seen: list[int] = []
    write = worker_runtime._write_outcomes
    monkeypatch.setattr(worker_runtime, "_write_outcomes", lambda outcomes: (seen.append(len(outcomes)), write(outcomes))[1])
    monkeypatch.setattr(worker_runtime, "_outcome_writers", type(worker_runtime._outcome_writers)())
    return seen


def claimed(ids: list[str], worker_id: str = "w1") -> None:
    with session_scope() as session:
        for execution_id in ids:
            assert service.claim(session, execution_id, worker_id) is not None


def finished(execution_ids: list[str]) -> dict[str, tuple]:
    with session_scope() as session:
        rows = session.scalars(select(Execution).where(Execution.id.in_(execution_ids)))
        return {row.id: (row.status, row.output, (row.error or {}).get("message")) for row in rows}


def test_outcomes_due_together_share_one_transaction_and_a_lost_lease_is_not_an_error(executions, outcome_transactions):
    _, ids = executions
    claimed(ids[:4])
    claimed(ids[4:], "another-worker")

    async def record_all() -> list[bool]:
        return await asyncio.gather(*(worker_runtime.record_outcome_together(
            execution_id, "w1", RunResult("succeeded", output=[{"json": {"n": n}}])) for n, execution_id in enumerate(ids)))

    assert asyncio.run(record_all()) == [True, True, True, True, False]
    assert outcome_transactions == [5]
    rows = finished(ids)
    assert [rows[i] for i in ids[:4]] == [("succeeded", [{"json": {"n": n}}], None) for n in range(4)]
    assert rows[ids[4]][0] == "running"  # still the other worker's


def test_an_outcome_the_database_refuses_fails_only_its_own_execution(executions, outcome_transactions):
    _, ids = executions
    claimed(ids[:3])
    outputs = [[{"json": {"n": 0}}], [{"json": {"n": float("nan")}}], [{"json": {"n": 2}}]]  # NaN: not JSON

    async def record_all() -> list[bool]:
        return await asyncio.gather(*(worker_runtime.record_outcome_together(execution_id, "w1", RunResult(
            "succeeded", output=output)) for execution_id, output in zip(ids, outputs, strict=False)))

    assert asyncio.run(record_all()) == [True, True, True]  # the refused one is recorded as failed, with why
    assert outcome_transactions == [3, 1, 1, 1]  # together, refused; then one by one
    rows = finished(ids[:3])
    assert rows[ids[0]] == ("succeeded", [{"json": {"n": 0}}], None)
    assert rows[ids[2]] == ("succeeded", [{"json": {"n": 2}}], None)
    status, _, message = rows[ids[1]]
    assert status == "failed" and message.startswith("the outcome could not be stored")
