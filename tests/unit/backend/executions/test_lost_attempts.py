"""An execution whose attempts keep breaking off ends failed after LINKFLOW_EXECUTIONS_MAX_ATTEMPTS,
with the reason, instead of being handed from worker to worker forever; a step or an outcome the
database refuses fails it at once. On SQLite, with the worker's code called directly and the faults
injected where a process would die."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select, update
from sqlalchemy.exc import DataError, OperationalError, StatementError

from backend.db import migrate
from backend.db.base import utcnow
from backend.db.session import session_scope
from backend.executions import service, worker_runtime
from backend.executions.models import Execution, ExecutionStep
from backend.executions.reaper import due_executions
from backend.executions.sql_store import SqlStepStore
from backend.settings import get_settings
from backend.users.service import create_user

DEFINITION = {
    "name": "lost",
    "nodes": [
        {"id": "t", "name": "Start", "type": "manual_trigger", "version": 1, "position": [0, 0]},
        {"id": "a", "name": "A", "type": "set", "version": 1, "position": [1, 0],
         "parameters": {"fields": [{"name": "a", "value": "{{ $json.n + 1 }}"}]}},
        {"id": "b", "name": "B", "type": "set", "version": 1, "position": [2, 0],
         "parameters": {"fields": [{"name": "b", "value": "{{ $json.a * 10 }}"}]}},
    ],
    "connections": [{"from": "t", "to": "a"}, {"from": "a", "to": "b"}],
}


class WorkerKilled(BaseException):
    """What SIGKILL does to a worker, as far as the database can tell: it stops, mid-step, without a word."""


@pytest.fixture
def execution_id(configure) -> str:
    configure(EXECUTIONS_MAX_ATTEMPTS="3")
    migrate.upgrade(get_settings().database_url)
    with session_scope() as session:
        _, team = create_user(session, email="lost@example.com", password="long enough password")
        return service.create_execution(session, team_id=team.id, definition=DEFINITION,
                                        input_items=[{"json": {"n": 1}}]).id


def row(execution_id: str) -> Execution:
    with session_scope() as session:
        return session.get(Execution, execution_id)


def committed(execution_id: str) -> dict[str, str]:
    with session_scope() as session:
        steps = session.scalars(select(ExecutionStep).where(ExecutionStep.execution_id == execution_id))
        return {step.node_name: step.status for step in steps}


def time_passes(execution_id: str) -> list[str]:
    """The lease (or the pause before the next attempt) runs out; the reaper's next round."""
    with session_scope() as session:
        session.execute(update(Execution).where(Execution.id == execution_id)
                        .values(lease_expires_at=utcnow() - timedelta(seconds=1)))
    return due_executions()


def kill_at(monkeypatch, node_name: str) -> list[str]:
    killed: list[str] = []
    save = SqlStepStore.save_step

    async def dying(self, step):
        if step.node_name == node_name:
            killed.append(step.node_name)
            raise WorkerKilled
        await save(self, step)

    monkeypatch.setattr(SqlStepStore, "save_step", dying)
    return killed


def test_a_worker_killed_on_every_attempt_fails_the_execution_after_the_limit(execution_id, monkeypatch):
    killed = kill_at(monkeypatch, "A")
    for attempt in range(1, 4):
        with pytest.raises(WorkerKilled):
            worker_runtime.execute(execution_id, f"worker-{attempt}")
        assert row(execution_id).status == "running"  # as a dead worker leaves it
        assert time_passes(execution_id) == [execution_id]
        assert row(execution_id).lost_attempts == attempt
    worker_runtime.execute(execution_id, "worker-4")  # the attempt past the limit: given up, nothing runs

    final = row(execution_id)
    assert killed == ["A", "A", "A"]
    assert final.status == "failed" and final.finished_at is not None
    assert final.error == {"node": None, "item_index": None, "message": (
        "gave up after 3 attempts: the worker running it stopped or crashed each time; last error: its worker "
        "stopped renewing the lease (the process was killed, ran out of memory, or lost the database)")}
    assert (final.attempts, final.lost_attempts, final.lease_owner) == (4, 3, None)
    assert committed(execution_id) == {"Start": "succeeded"}
    assert time_passes(execution_id) == []  # finished: the reaper never sends it again


def test_an_unexpected_error_hands_the_execution_back_and_counts_the_attempt(execution_id, monkeypatch):
    async def broken_engine(*args, **kwargs):
        raise RuntimeError("engine bug")

    monkeypatch.setattr(worker_runtime, "run", broken_engine)
    worker_runtime.execute(execution_id, "worker-1")
    handed_back = row(execution_id)
    assert (handed_back.status, handed_back.lease_owner) == ("queued", None)
    assert (handed_back.lost_attempts, handed_back.last_attempt_error) == (1, "RuntimeError: engine bug")
    assert handed_back.lease_expires_at > utcnow()  # a pause before the next attempt
    assert due_executions() == []
    for attempt in range(2, 4):
        assert time_passes(execution_id) == [execution_id]
        worker_runtime.execute(execution_id, f"worker-{attempt}")
    assert row(execution_id).lost_attempts == 3
    time_passes(execution_id)
    worker_runtime.execute(execution_id, "worker-4")
    final = row(execution_id)
    assert final.status == "failed"
    assert final.error["message"] == ("gave up after 3 attempts: the worker running it stopped or crashed each "
                                      "time; last error: RuntimeError: engine bug")


def test_an_attempt_that_records_an_outcome_starts_the_count_afresh(execution_id, monkeypatch):
    with session_scope() as session:
        session.execute(update(Execution).where(Execution.id == execution_id)
                        .values(lost_attempts=2, last_attempt_error="earlier"))
    worker_runtime.execute(execution_id, "worker-1")
    done = row(execution_id)
    assert done.status == "succeeded" and done.output == [{"json": {"n": 1, "a": 2, "b": 20}}]
    assert done.lost_attempts == 2  # kept on a finished execution, for the record

    with session_scope() as session:  # a wait is an outcome too: the attempts after it count from zero
        waiting = service.create_execution(session, team_id=done.team_id, definition=DEFINITION)
        session.flush()
        waiting.lost_attempts, waiting_id = 2, waiting.id
    with session_scope() as session:
        assert service.claim(session, waiting_id, "w") is not None
        assert service.finish(session, waiting_id, "w", status="waiting", resume_at=utcnow())
    assert (row(waiting_id).lost_attempts, row(waiting_id).last_attempt_error) == (0, None)


def _failing_write(monkeypatch, error: Exception) -> None:
    """The write of node A's step fails with ``error``, as the database would raise it."""
    save = SqlStepStore._save

    async def save_step(self, step):
        if step.node_name == "A" and step.status == "succeeded":
            raise error
        await save(self, step)

    monkeypatch.setattr(SqlStepStore, "_save", save_step)


def test_a_step_the_database_refuses_fails_the_execution_at_once(execution_id, monkeypatch):
    refused = DataError("INSERT ...", {}, Exception("unsupported Unicode escape sequence\nDETAIL: \\u0000"))
    _failing_write(monkeypatch, refused)
    worker_runtime.execute(execution_id, "worker-1")
    final = row(execution_id)
    assert final.status == "failed" and final.attempts == 1 and final.lost_attempts == 0
    assert final.error == {"node": "A", "item_index": None, "message": (
        "the step's data could not be stored: Exception: unsupported Unicode escape sequence DETAIL: \\u0000")}
    assert committed(execution_id) == {"Start": "succeeded", "A": "failed"}


def test_a_database_that_is_down_is_not_a_refusal(execution_id, monkeypatch):
    _failing_write(monkeypatch, OperationalError("INSERT ...", {}, Exception("server closed the connection")))
    worker_runtime.execute(execution_id, "worker-1")
    handed_back = row(execution_id)
    assert (handed_back.status, handed_back.lost_attempts) == ("queued", 1)  # tried again later
    assert "server closed the connection" in handed_back.last_attempt_error


def test_an_outcome_the_database_refuses_fails_the_execution(execution_id, monkeypatch):
    finish = service.finish
    calls = []

    def refusing_finish(db, execution_id, worker_id, **outcome):  # as a database would: every time
        calls.append(outcome["status"])
        if outcome["status"] == "succeeded":
            raise StatementError("UPDATE ...", None, {}, TypeError("Object of type complex is not JSON serializable"))
        return finish(db, execution_id, worker_id, **outcome)

    monkeypatch.setattr(service, "finish", refusing_finish)
    worker_runtime.execute(execution_id, "worker-1")
    final = row(execution_id)
    # the group commit's transaction, then the outcome alone (so only the one at fault is refused), then failed
    assert calls == ["succeeded", "succeeded", "failed"]
    assert final.status == "failed" and final.output is None
    assert final.error["message"] == ("the outcome could not be stored: TypeError: Object of type complex is "
                                      "not JSON serializable")
