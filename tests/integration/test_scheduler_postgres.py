"""Two real `linkflow scheduler` processes on one PostgreSQL database: one leads and fires a
every-second schedule; SIGKILL it, the other takes over, and every second fires exactly once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from datetime import datetime, timedelta

from sqlalchemy import select, text

from backend.db import migrate
from backend.db.base import utcnow
from backend.db.session import session_scope
from backend.executions.models import Execution
from backend.schedules.firing import _due_query, fire_due
from backend.schedules.leader import LOCK_KEY, PostgresLeader
from backend.schedules.service import sync_workflow_schedules
from backend.users.service import create_user
from backend.workflows.activation import activate
from backend.workflows.service import create_workflow, runnable_definition

EVERY_SECOND = {
    "nodes": [
        {"id": "cron", "name": "Every second", "type": "schedule", "version": 1, "position": [0, 0],
         "parameters": {"cron": "* * * * * *", "misfire_policy": "run_all", "overlap_policy": "allow"}},
        {"id": "next", "name": "Next", "type": "noop", "version": 1, "position": [1, 0]},
    ],
    "connections": [{"from": "cron", "to": "next"}],
}


def start_scheduler(log_path) -> subprocess.Popen:
    log = open(log_path, "ab")  # noqa: SIM115 - the child owns it
    return subprocess.Popen([sys.executable, "-m", "backend.cli", "scheduler"], stdout=log,
                            stderr=subprocess.STDOUT, start_new_session=True)


def wait_for(predicate, timeout_s: float, what: str):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout_s}s waiting for {what}")


def leader_pid() -> int | None:
    """The pid in the application_name of the session holding the scheduler's advisory lock."""
    with session_scope() as session:
        name = session.scalar(text(
            "SELECT a.application_name FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid"
            " WHERE l.locktype = 'advisory' AND l.granted AND l.classid = :high AND l.objid = :low"),
            {"high": (LOCK_KEY >> 32) & 0xFFFFFFFF, "low": LOCK_KEY & 0xFFFFFFFF})
    return int(name.split(":", 1)[1].split("@", 1)[0]) if name else None


def fired_timestamps(workflow_id: str) -> list[datetime]:
    with session_scope() as session:
        inputs = session.scalars(select(Execution.input).where(Execution.workflow_id == workflow_id,
                                                               Execution.mode == "schedule"))
        return [datetime.fromisoformat(items[0]["json"]["timestamp"]) for items in inputs]


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)


def active_every_second_workflow() -> str:
    with session_scope() as session:
        _, team = create_user(session, email="cron@example.com", password="long enough")
        workflow = create_workflow(session, team_id=team.id, user_id=None, name="tick", definition=EVERY_SECOND)
        activate(session, workflow, user_id=None)
        sync_workflow_schedules(session, workflow, runnable_definition(session, team.id, workflow.id)[1])
        return workflow.id


def test_one_leader_at_a_time_and_a_lost_session_hands_over(configure, postgres_url):
    configure(DATABASE_URL=postgres_url)
    first, second = PostgresLeader(postgres_url, name="first:1"), PostgresLeader(postgres_url, name="second:2")
    try:
        assert first.is_leader() and not second.is_leader()
        assert first.is_leader() and not second.is_leader()  # the leader re-checks and keeps it
        with session_scope() as session:  # the leader's session dies (network, server restart, ...)
            session.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                                 " WHERE application_name = 'first:1'"))
        assert not first.is_leader()
        assert second.is_leader() and not first.is_leader()
        second.release()
        assert first.is_leader()
    finally:
        first.release()
        second.release()


def test_a_second_scheduler_skips_schedules_the_first_has_locked(configure, postgres_url, redis_url):
    """Two leaders overlapping: while one is firing a schedule, the other leaves it alone."""
    configure(DATABASE_URL=postgres_url, REDIS_URL=redis_url, QUEUE_BACKEND="redis")
    migrate.upgrade(postgres_url)
    workflow_id = active_every_second_workflow()
    now = utcnow() + timedelta(seconds=2)
    with session_scope() as first:
        assert len(first.execute(_due_query(now)).all()) == 1  # locked until this transaction ends
        with session_scope() as second:
            assert fire_due(second, now) == []
        first.rollback()
    with session_scope() as session:
        assert len(fire_due(session, now)) >= 2
    assert len(fired_timestamps(workflow_id)) == len(set(fired_timestamps(workflow_id)))


def test_failover_between_two_schedulers_fires_every_second_exactly_once(configure, postgres_url, redis_url,
                                                                          tmp_path):
    # Dispatch goes to Redis and no worker consumes it: executions stay queued, countable.
    configure(DATABASE_URL=postgres_url, REDIS_URL=redis_url, QUEUE_BACKEND="redis", LOG_FORMAT="json")
    migrate.upgrade(postgres_url)
    workflow_id = active_every_second_workflow()

    logs = {name: tmp_path / f"scheduler-{name}.log" for name in ("a", "b")}
    processes = {name: start_scheduler(path) for name, path in logs.items()}
    by_pid = {p.pid: p for p in processes.values()}
    try:
        first = by_pid[wait_for(leader_pid, 30, "a scheduler to take the lock")]
        time.sleep(5)
        os.killpg(first.pid, signal.SIGKILL)
        first.wait(10)
        killed_at = datetime.now().astimezone()
        second = by_pid[wait_for(lambda: (pid := leader_pid()) not in (None, first.pid) and pid, 15,
                                 "the other scheduler to take over")]
        time.sleep(5)
    finally:
        for process in processes.values():
            stop(process)
    output = "\n".join(f"--- {name}\n{path.read_text()[-3000:]}" for name, path in logs.items())

    assert second is not first and second.returncode == 0, output
    fired = fired_timestamps(workflow_id)
    doubles = {at: n for at, n in Counter(fired).items() if n > 1}
    assert doubles == {}, f"fired more than once: {doubles}\n{output}"
    start, end = min(fired), max(fired)
    expected = {start + timedelta(seconds=s) for s in range(int((end - start).total_seconds()) + 1)}
    assert set(fired) == expected, f"missed: {sorted(expected - set(fired))}\n{output}"
    assert start < killed_at - timedelta(seconds=3) and end > killed_at + timedelta(seconds=3), output
    assert '"scheduler is now the leader"' in logs["a"].read_text() + logs["b"].read_text()
