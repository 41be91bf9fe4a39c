"""A worker that dies after its run parked in a Wait node, before the execution was marked waiting,
must not make the wait end early: the next attempt parks it again (issue #18, finding 1).

On SQLite, with the worker's code called directly and the death injected where a process would
die; tests/integration/test_crash_windows.py does the same with SIGKILL to real processes."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select, update

from backend.db import migrate
from backend.db.base import utcnow
from backend.db.session import session_scope
from backend.executions import service, worker_runtime
from backend.executions.models import Execution, ExecutionStep
from backend.executions.reaper import due_executions
from backend.settings import get_settings
from backend.users.service import create_user


def definition(wait: dict) -> dict:
    return {
        "name": "wait then act",
        "nodes": [
            {"id": "t", "name": "Start", "type": "manual_trigger", "version": 1, "position": [0, 0]},
            {"id": "w", "name": "Wait", "type": "wait", "version": 1, "position": [1, 0], "parameters": wait},
            {"id": "a", "name": "After", "type": "set", "version": 1, "position": [2, 0],
             "parameters": {"fields": [{"name": "after", "value": "yes"}]}},
        ],
        "connections": [{"from": "t", "to": "w"}, {"from": "w", "to": "a"}],
    }


class WorkerKilled(BaseException):
    """SIGKILL, as far as the database can tell: the process stops without another word."""


def new_execution(wait: dict) -> str:
    migrate.upgrade(get_settings().database_url)
    with session_scope() as session:
        _, team = create_user(session, email="wait@example.com", password="long enough password")
        return service.create_execution(session, team_id=team.id, definition=definition(wait),
                                        input_items=[{"json": {"n": 1}}]).id


def die_before_the_wait_is_recorded(monkeypatch) -> list[str]:
    killed: list[str] = []
    finish = service.finish

    def dying(db, execution_id, worker_id, *, status, **kwargs):
        if status == "waiting" and not killed:
            killed.append(execution_id)
            raise WorkerKilled
        return finish(db, execution_id, worker_id, status=status, **kwargs)

    monkeypatch.setattr(service, "finish", dying)
    return killed


def lease_runs_out(execution_id: str) -> list[str]:
    with session_scope() as session:
        session.execute(update(Execution).where(Execution.id == execution_id)
                        .values(lease_expires_at=utcnow() - timedelta(seconds=1)))
    return due_executions()


def row(execution_id: str) -> Execution:
    with session_scope() as session:
        return session.get(Execution, execution_id)


def steps(execution_id: str) -> dict[str, str]:
    with session_scope() as session:
        rows = session.scalars(select(ExecutionStep).where(ExecutionStep.execution_id == execution_id))
        return {step.node_name: step.status for step in rows}


def test_a_timed_wait_killed_before_it_was_recorded_waits_its_full_time_after_recovery(configure, monkeypatch):
    configure()
    execution_id = new_execution({"mode": "duration", "amount": 600, "unit": "seconds"})
    killed = die_before_the_wait_is_recorded(monkeypatch)
    started = utcnow()
    with pytest.raises(WorkerKilled):
        worker_runtime.execute(execution_id, "worker-1")
    assert killed == [execution_id]
    assert row(execution_id).status == "running"  # as the dead worker left it
    assert steps(execution_id) == {"Start": "succeeded"}  # the waiting step went down with the worker

    assert lease_runs_out(execution_id) == [execution_id]
    worker_runtime.execute(execution_id, "worker-2")
    parked = row(execution_id)
    assert parked.status == "waiting"
    assert parked.resume_at >= started + timedelta(seconds=600)  # not a second early
    assert steps(execution_id) == {"Start": "succeeded", "Wait": "waiting"}  # After did not run

    worker_runtime.execute(execution_id, "worker-3")  # a stray message before the time: nothing happens
    assert row(execution_id).status == "waiting" and "After" not in steps(execution_id)


def test_a_webhook_wait_killed_before_it_was_recorded_keeps_waiting_for_its_call(configure, monkeypatch):
    configure()
    execution_id = new_execution({"mode": "webhook"})
    die_before_the_wait_is_recorded(monkeypatch)
    with pytest.raises(WorkerKilled):
        worker_runtime.execute(execution_id, "worker-1")
    assert lease_runs_out(execution_id) == [execution_id]
    worker_runtime.execute(execution_id, "worker-2")
    parked = row(execution_id)
    assert (parked.status, parked.resume_at) == ("waiting", None)
    assert steps(execution_id) == {"Start": "succeeded", "Wait": "waiting"}
    assert due_executions() == []  # only its resume URL takes it up


def test_the_waiting_step_and_the_waiting_status_are_one_commit(configure, monkeypatch):
    configure()
    execution_id = new_execution({"mode": "duration", "amount": 600, "unit": "seconds"})
    seen: list[tuple[str, dict]] = []
    finish = service.finish

    def watching(db, execution_id, worker_id, *, status, **kwargs):
        seen.append((row(execution_id).status, steps(execution_id)))  # what another connection sees now
        return finish(db, execution_id, worker_id, status=status, **kwargs)

    monkeypatch.setattr(service, "finish", watching)
    worker_runtime.execute(execution_id, "worker-1")
    assert seen == [("running", {"Start": "succeeded"})]
    assert (row(execution_id).status, steps(execution_id)) == ("waiting", {"Start": "succeeded", "Wait": "waiting"})


def test_a_wait_whose_time_came_resumes_and_runs_the_rest(configure):
    configure()
    execution_id = new_execution({"mode": "duration", "amount": 600, "unit": "seconds"})
    worker_runtime.execute(execution_id, "worker-1")
    with session_scope() as session:
        session.execute(update(Execution).where(Execution.id == execution_id)
                        .values(resume_at=utcnow() - timedelta(seconds=1)))
    worker_runtime.execute(execution_id, "worker-2")
    done = row(execution_id)
    assert done.status == "succeeded" and done.output == [{"json": {"n": 1, "after": "yes"}}]
    assert steps(execution_id) == {"Start": "succeeded", "Wait": "succeeded", "After": "succeeded"}
