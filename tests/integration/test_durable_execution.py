"""SIGKILL a real worker mid-execution (Redis broker + PostgreSQL); a restarted worker finishes
the execution and does not run the steps that were already committed again."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

from sqlalchemy import select

from backend.db import migrate
from backend.db.session import session_scope
from backend.executions import dispatch, service
from backend.executions.models import Execution, ExecutionStep
from backend.users.service import create_user

SLOW = "import time\ntime.sleep(6)\nreturn items"
DEFINITION = {
    "name": "durable",
    "nodes": [
        {"id": "t", "name": "Start", "type": "manual_trigger", "version": 1, "position": [0, 0]},
        {"id": "a", "name": "Before", "type": "set", "version": 1, "position": [1, 0],
         "parameters": {"fields": [{"name": "before", "value": "{{ $json.n + 1 }}"}]}},
        {"id": "slow", "name": "Slow", "type": "code", "version": 1, "position": [2, 0],
         "parameters": {"code": SLOW, "time_limit_s": 30}},
        {"id": "b", "name": "After", "type": "set", "version": 1, "position": [3, 0],
         "parameters": {"fields": [{"name": "after", "value": "{{ $json.before * 10 }}"}]}},
    ],
    "connections": [
        {"from": "t", "output": "main", "to": "a", "input": "main"},
        {"from": "a", "output": "main", "to": "slow", "input": "main"},
        {"from": "slow", "output": "main", "to": "b", "input": "main"},
    ],
}


def start_worker(log_path) -> subprocess.Popen:
    log = open(log_path, "ab")  # noqa: SIM115 - the child owns it
    return subprocess.Popen([sys.executable, "-m", "backend.cli", "worker"], stdout=log,
                            stderr=subprocess.STDOUT, start_new_session=True)


def wait_for(predicate, timeout_s: float, what: str):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out after {timeout_s}s waiting for {what}")


def steps(execution_id: str) -> dict[str, ExecutionStep]:
    with session_scope() as session:
        rows = session.scalars(select(ExecutionStep).where(ExecutionStep.execution_id == execution_id))
        return {row.node_name: row for row in rows}


def execution_row(execution_id: str) -> Execution:
    with session_scope() as session:
        return session.get(Execution, execution_id)


def test_sigkilled_worker_resumes_from_the_last_committed_step(configure, postgres_url, redis_url, tmp_path):
    configure(DATABASE_URL=postgres_url, REDIS_URL=redis_url, QUEUE_BACKEND="redis", QUEUE_LEASE_SECONDS="3")
    migrate.upgrade(postgres_url)
    with session_scope() as session:
        _, team = create_user(session, email="durable@example.com", password="long enough")
        execution = service.create_execution(session, team_id=team.id, definition=DEFINITION,
                                             input_items=[{"json": {"n": 4}}])
        execution_id = execution.id
    dispatch.dispatch(execution_id)  # through the real Redis broker

    first = start_worker(tmp_path / "worker1.log")
    try:
        committed = wait_for(lambda: "Before" in steps(execution_id) and steps(execution_id),
                             60, "the first steps to commit")
        assert "After" not in committed
        os.killpg(first.pid, signal.SIGKILL)  # mid-way through the slow step
        first.wait(10)
        before = {name: (row.id, row.started_at) for name, row in committed.items()}
        assert execution_row(execution_id).status == "running"  # the dead worker still "holds" it

        second = start_worker(tmp_path / "worker2.log")
        try:
            final = wait_for(lambda: execution_row(execution_id).status in ("succeeded", "failed")
                             and execution_row(execution_id), 90, "the execution to finish")
        finally:
            os.killpg(second.pid, signal.SIGTERM)
            second.wait(20)
    finally:
        if first.poll() is None:
            os.killpg(first.pid, signal.SIGKILL)

    assert final.status == "succeeded", (final.error, (tmp_path / "worker2.log").read_text()[-3000:])
    assert final.output == [{"json": {"n": 4, "before": 5, "after": 50}}]
    assert final.attempts == 2
    after = steps(execution_id)
    for name, (row_id, started_at) in before.items():
        assert (after[name].id, after[name].started_at) == (row_id, started_at), f"{name} ran again"
    assert set(after) == {"Start", "Before", "Slow", "After"}
