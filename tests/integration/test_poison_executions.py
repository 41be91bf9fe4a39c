"""Poison executions on the scaled-out path (PostgreSQL + a real Redis queue + real worker
processes): a value no database can store fails its execution once, and an execution whose
worker is SIGKILLed on every attempt ends failed after LINKFLOW_EXECUTIONS_MAX_ATTEMPTS
instead of going from worker to worker forever."""

from __future__ import annotations

import os
import signal
import time

from test_durable_execution import execution_row, start_worker, steps, wait_for

from backend.db import migrate
from backend.db.session import session_scope
from backend.executions import dispatch, service
from backend.users.service import create_user

START = {"id": "t", "name": "Start", "type": "manual_trigger", "version": 1, "position": [0, 0]}
POISON = {
    "name": "poison",
    "nodes": [START, {"id": "p", "name": "Price", "type": "set", "version": 1, "position": [1, 0],
                      "parameters": {"fields": [{"name": "price", "value": "{{ (-1) ** 0.5 }}"}]}}],
    "connections": [{"from": "t", "to": "p"}],
}
NAN = {  # JSONB refuses NaN: before, storing this step failed on every attempt
    "name": "nan",
    "nodes": [START, {"id": "c", "name": "Ratio", "type": "code", "version": 1, "position": [1, 0],
                      "parameters": {"code": "return [{'json': {'ratio': float('nan')}}]", "mode": "once_for_all"}}],
    "connections": [{"from": "t", "to": "c"}],
}
SLOW = {
    "name": "slow",
    "nodes": [START, {"id": "s", "name": "Slow", "type": "code", "version": 1, "position": [1, 0],
                      "parameters": {"code": "import time\ntime.sleep(20)\nreturn items", "time_limit_s": 60}}],
    "connections": [{"from": "t", "to": "s"}],
}


def queue_execution(definition: dict) -> str:
    with session_scope() as session:
        _, team = create_user(session, email=f"{definition['name']}@example.com", password="long enough")
        execution_id = service.create_execution(session, team_id=team.id, definition=definition,
                                                input_items=[{"json": {}}]).id
    dispatch.dispatch(execution_id)  # through the real Redis broker
    return execution_id


def test_a_value_postgresql_cannot_store_fails_the_execution_once(configure, postgres_url, redis_url, tmp_path):
    configure(DATABASE_URL=postgres_url, REDIS_URL=redis_url, QUEUE_BACKEND="redis", QUEUE_LEASE_SECONDS="3")
    migrate.upgrade(postgres_url)
    poison, nan = queue_execution(POISON), queue_execution(NAN)
    worker = start_worker(tmp_path / "worker.log")
    try:
        for execution_id in (poison, nan):
            wait_for(lambda e=execution_id: execution_row(e).status in ("failed", "succeeded"), 60,
                     "the execution to end")
        time.sleep(8)  # past the lease and two reaper rounds: a stuck execution would have been sent again
    finally:
        os.killpg(worker.pid, signal.SIGTERM)
        worker.wait(20)
    log = (tmp_path / "worker.log").read_text()[-3000:]
    failed = execution_row(poison)
    assert (failed.status, failed.attempts, failed.lost_attempts) == ("failed", 1, 0), (failed.error, log)
    assert failed.error["node"] == "Price"
    assert "(-1) ** 0.5 has no real result: a negative number to a fractional power is a complex number" \
        in failed.error["message"]
    assert {name: step.status for name, step in steps(poison).items()} == {"Start": "succeeded", "Price": "failed"}
    failed = execution_row(nan)
    assert (failed.status, failed.attempts, failed.lost_attempts) == ("failed", 1, 0), (failed.error, log)
    assert failed.error == {"node": "Ratio", "item_index": None, "message": (
        "`ratio` in item 0 is NaN (not a number), which is not JSON; check for it, e.g. x if x == x else None")}


def test_a_worker_killed_on_every_attempt_ends_failed_after_the_limit(configure, postgres_url, redis_url,
                                                                       tmp_path):
    configure(DATABASE_URL=postgres_url, REDIS_URL=redis_url, QUEUE_BACKEND="redis", QUEUE_LEASE_SECONDS="2",
              EXECUTIONS_MAX_ATTEMPTS="2")
    migrate.upgrade(postgres_url)
    execution_id = queue_execution(SLOW)
    for attempt in (1, 2):
        worker = start_worker(tmp_path / f"worker{attempt}.log")
        try:  # SIGKILL once this attempt is inside the slow node (its first step committed)
            wait_for(lambda n=attempt: execution_row(execution_id).attempts == n and "Start" in steps(execution_id),
                     60, f"attempt {attempt} to start")
            time.sleep(0.5)
        finally:
            os.killpg(worker.pid, signal.SIGKILL)
            worker.wait(10)
        assert execution_row(execution_id).status == "running"  # as a dead worker leaves it
    last = start_worker(tmp_path / "worker3.log")
    try:
        final = wait_for(lambda: execution_row(execution_id).status in ("failed", "succeeded")
                         and execution_row(execution_id), 60, "the execution to be given up")
    finally:
        os.killpg(last.pid, signal.SIGTERM)
        last.wait(20)
    assert final.status == "failed", (final.error, (tmp_path / "worker3.log").read_text()[-3000:])
    assert final.error["message"] == (
        "gave up after 2 attempts: the worker running it stopped or crashed each time; last error: its worker "
        "stopped renewing the lease (the process was killed, ran out of memory, or lost the database)")
    assert (final.attempts, final.lost_attempts) == (3, 2)  # the third claim ran nothing
    assert steps(execution_id)["Start"].status == "succeeded" and "Slow" not in steps(execution_id)
