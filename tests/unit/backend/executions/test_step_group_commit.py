"""The steps a worker records (backend/executions/sql_store.py) and the outcomes it records (worker_runtime.py)
that come due in one loop iteration share one transaction; one the database refuses fails only its own execution,
and each is committed when its save returns. On SQLite, with the store and the runtime called directly."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import func, select

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


def counted(monkeypatch, module, write: str, writers: str) -> list[int]:
    """How many entries each call of ``module.<write>`` (one transaction) carried; the per-loop group commits in
    ``module.<writers>`` are made afresh, so they call the counting one."""
    seen: list[int] = []
    original = getattr(module, write)
    monkeypatch.setattr(module, write, lambda entries: (seen.append(len(entries)), original(entries))[1])
    monkeypatch.setattr(module, writers, type(getattr(module, writers))())
    return seen


@pytest.fixture
def transactions(monkeypatch) -> list[int]:
    """The number of step rows each write transaction carried."""
    return counted(monkeypatch, sql_store, "_write_steps", "_step_writers")


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
    return counted(monkeypatch, worker_runtime, "_write_outcomes", "_outcome_writers")


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


# ---------------------------------------------------------------- the claims (worker_runtime)

@pytest.fixture
def claim_transactions(monkeypatch) -> list[int]:
    return counted(monkeypatch, worker_runtime, "_claim_all", "_claimers")


def test_executions_that_arrive_together_are_claimed_in_one_transaction_and_run(executions, claim_transactions):
    _, ids = executions
    claimed(ids[4:], "another-worker")

    async def execute_all() -> None:
        await asyncio.gather(*(worker_runtime._execute(execution_id, "w1") for execution_id in ids))

    asyncio.run(execute_all())
    assert claim_transactions == [5]
    rows = finished(ids)
    assert [rows[i][0] for i in ids[:4]] == ["succeeded"] * 4
    assert [rows[i][1] for i in ids[:4]] == [[{"json": {"n": n}}] for n in range(4)]
    assert rows[ids[4]][0] == "running"  # the other worker's lease: not claimed, not run


def test_a_claim_alone_is_committed_at_once_and_attempts_past_the_limit_give_up(executions, claim_transactions):
    _, ids = executions
    with session_scope() as session:
        session.get(Execution, ids[0]).lost_attempts = get_settings().executions.max_attempts

    asyncio.run(worker_runtime._execute(ids[0], "w1"))
    asyncio.run(worker_runtime._execute(ids[1], "w1"))

    assert claim_transactions == [1, 1]
    rows = finished(ids[:2])
    assert rows[ids[0]][0] == "failed" and rows[ids[0]][2].startswith("gave up after")
    assert rows[ids[1]][0] == "succeeded"


def test_a_burst_of_claims_reads_each_ones_steps_and_an_unreadable_one_spoils_only_its_own(executions, tmp_path):
    team_id, ids = executions
    for n in range(2):
        asyncio.run(SqlStepStore(ids[n], team_id).save_step(step(n)))
    not_ours = tmp_path / "step.json"
    not_ours.write_text("not JSON")  # a step whose data is not what LinkFlow writes
    with session_scope() as session:
        row = session.scalar(select(ExecutionStep).where(ExecutionStep.execution_id == ids[1]))
        row.output, row.output_ref = None, str(not_ours)

    claim = worker_runtime._Claim
    taken = worker_runtime._claim_all([claim(ids[0], "w1"), claim(ids[1], "w1"), claim(ids[2], "w2"),
                                       claim(ids[0], "w1")])

    assert [t.claimed is not None for t in taken] == [True, True, True, False]  # the id sent twice: claimed once
    assert {key: s.output for key, s in taken[0].steps.items()} == {("a", 0): {"main": [{"json": {"n": 0, "done": True}}]}}
    assert isinstance(taken[1].unreadable, ValueError) and taken[1].steps is None
    assert taken[2].steps == {} and taken[2].unreadable is None
    with session_scope() as session:
        owners = {e.id: e.lease_owner for e in session.scalars(select(Execution).where(Execution.id.in_(ids[:3])))}
    assert owners == {ids[0]: "w1", ids[1]: "w1", ids[2]: "w2"}


def test_outcomes_recorded_together_pack_their_facts_into_one_event_per_workflow(executions, outcome_transactions):
    from backend.events.models import OutboxEvent

    _, ids = executions
    claimed(ids[:4])
    with session_scope() as session:
        before = session.scalar(select(func.max(OutboxEvent.id)))

    async def record_all() -> list[bool]:
        return await asyncio.gather(*(worker_runtime.record_outcome_together(
            execution_id, "w1", RunResult("succeeded", output=[{"json": {"n": n}}])) for n, execution_id in enumerate(ids[:4])))

    assert asyncio.run(record_all()) == [True] * 4
    with session_scope() as session:
        rows = session.execute(select(OutboxEvent.topic, OutboxEvent.key, OutboxEvent.payload)
                               .where(OutboxEvent.id > before).order_by(OutboxEvent.id)).all()
    events = [(key, payload["type"]) for topic, key, payload in rows if topic == "execution.events"]
    assert events == [(execution_id, "execution.succeeded") for execution_id in ids[:4]]
    usage = [payload for topic, _, payload in rows if topic == "analytics.events"]
    assert len(usage) == 1 and len(usage[0]["executions"]) == 4  # the four runs' usage: one packed event


def test_a_burst_of_executions_costs_the_statements_of_a_few(executions):
    """Five executions arriving together: one claim UPDATE and one steps SELECT for all, one steps write, and per
    outcome its UPDATE, then one INSERT of every outbox row. Each was one to three statements per execution."""
    from sqlalchemy import event

    from backend.db.session import get_engine

    _, ids = executions
    statements: list[str] = []

    def seen(_conn, _cursor, statement, *_args) -> None:
        statements.append(statement.split(None, 1)[0].upper())

    event.listen(get_engine(), "before_cursor_execute", seen)
    try:
        async def execute_all() -> None:
            await asyncio.gather(*(worker_runtime._execute(execution_id, "w1") for execution_id in ids))

        asyncio.run(execute_all())
    finally:
        event.remove(get_engine(), "before_cursor_execute", seen)
    writes = [s for s in statements if s in {"UPDATE", "INSERT", "SELECT"}]
    assert writes.count("UPDATE") == 1 + 5  # the claims, then one per outcome (each checks its own lease)
    assert writes.count("SELECT") == 1  # the recorded steps of all five
    assert writes.count("INSERT") == 2  # the five Start steps, then the outbox rows of all five outcomes
