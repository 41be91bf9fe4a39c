"""The admin console's queries and the audit trail on real PostgreSQL, Dramatiq's queue depth on real Redis."""

from __future__ import annotations

import csv
import io
import signal
import socket
import subprocess
import sys
import time
from datetime import timedelta

import dramatiq
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from backend.app import create_app
from backend.audit.service import record_event
from backend.auth.tokens import issue_access_token
from backend.db import migrate
from backend.db.base import utcnow
from backend.db.session import session_scope
from backend.executions import heartbeats
from backend.executions.models import Execution, WorkerHeartbeat
from backend.settings import get_settings
from backend.users.models import Membership, Role
from backend.users.service import create_user
from backend.workflows.models import Workflow
from executors.broker import make_broker

PASSWORD = "correct horse battery staple"


@pytest.fixture
def pg_api(configure, postgres_url):
    configure(DATABASE_URL=postgres_url)
    migrate.upgrade(postgres_url)
    with TestClient(create_app()) as client:
        yield client


def user(email: str, *, is_admin: bool = False, team_id: str | None = None, role: Role = Role.OWNER):
    with session_scope() as session:
        account, team = create_user(session, email=email, password=PASSWORD, is_admin=is_admin)
        if team_id:
            session.add(Membership(team_id=team_id, user_id=account.id, role=role))
        ids = account.id, team_id or team.id
    token, _ = issue_access_token(ids[0])
    return ids[0], ids[1], {"Authorization": f"Bearer {token}", "X-Team-Id": ids[1]}


def test_admin_lists_counts_failures_and_last_admin_rule_on_postgres(pg_api):
    root_id, _, root = user("root@example.com", is_admin=True)
    grace_id, team, grace = user("grace@example.com")
    user("alan@example.com", team_id=team, role=Role.EDITOR)
    now = utcnow()
    with session_scope() as session:
        flow = Workflow(team_id=team, name="Sync_100%", active=True)
        session.add(flow)
        session.flush()
        session.add_all([Execution(team_id=team, workflow_id=flow.id, status=s, mode=m, finished_at=now,
                                   error={"node": "HTTP", "message": "boom"} if s == "failed" else None)
                         for s, m in [("queued", "webhook"), ("running", "manual"), ("waiting", "schedule"),
                                      ("failed", "manual"), ("succeeded", "manual")]])
        heartbeats.beat(session, "pod-1:7:worker", role="worker", details={"threads": 8}, started_at=now)
        heartbeats.beat(session, "pod-2:7:worker", role="worker", details={}, started_at=now,
                        now=now - timedelta(days=2))
        assert heartbeats.prune(session) == 1

    users = pg_api.get("/api/v1/admin/users", params={"search": "_"}, headers=root).json()
    assert users["total"] == 0  # LIKE wildcards are escaped
    users = pg_api.get("/api/v1/admin/users", headers=root).json()
    assert [(u["email"], u["teams"]) for u in users["items"]] == [
        ("root@example.com", 1), ("grace@example.com", 1), ("alan@example.com", 2)]
    teams = pg_api.get("/api/v1/admin/teams", params={"search": "grace"}, headers=root).json()["items"]
    assert [(t["members"], t["workflows"], t["active_workflows"], t["executions"]) for t in teams] == [(2, 1, 1, 5)]
    queue = pg_api.get("/api/v1/admin/queue", headers=root).json()
    assert queue["executions"]["overall"] == {"queued": 1, "running": 1, "waiting": 1}
    [worker] = pg_api.get("/api/v1/admin/workers", headers=root).json()["items"]
    assert worker["id"] == "pod-1:7:worker" and worker["alive"] is True
    [failure] = pg_api.get("/api/v1/admin/errors", headers=root).json()["executions"]
    assert (failure["workflow_name"], failure["node"], failure["message"]) == ("Sync_100%", "HTTP", "boom")
    assert pg_api.get("/api/v1/admin/health", headers=root).json()["checks"]["database"] == "ok"

    assert pg_api.get("/api/v1/admin/users", headers=grace).status_code == 403
    assert pg_api.patch(f"/api/v1/admin/users/{root_id}", json={"is_admin": False},
                        headers=root).status_code == 409
    assert pg_api.patch(f"/api/v1/admin/users/{grace_id}", json={"is_active": False},
                        headers=root).status_code == 200
    assert pg_api.get("/api/v1/users/me", headers=grace).status_code == 401


def test_audit_filters_and_export_on_postgres(pg_api):
    owner_id, team, owner = user("grace@example.com")
    _, _, editor = user("alan@example.com", team_id=team, role=Role.EDITOR)
    t0 = utcnow() - timedelta(hours=1)
    with session_scope() as session:
        for i, action in enumerate(["workflow.create", "workflow.activate", "workflow_x.create", "auth.login"]):
            record_event(session, {"event_id": i + 1, "team_id": team, "action": action, "actor_id": owner_id,
                                   "object_type": "workflow", "object_id": f"wf-{i}",
                                   "details": {"formula": "=1+1"},
                                   "occurred_at": (t0 + timedelta(minutes=i)).isoformat()})
    page = pg_api.get("/api/v1/audit", params={"action": "workflow.*", "actor": "grace@example.com"},
                      headers=owner).json()
    assert [i["action"] for i in page["items"]] == ["workflow.activate", "workflow.create"] and page["total"] == 2
    since = (t0 + timedelta(minutes=1)).isoformat()
    window = pg_api.get("/api/v1/audit", params={"since": since, "until": (t0 + timedelta(minutes=3)).isoformat()},
                        headers=owner).json()
    assert [i["action"] for i in window["items"]] == ["workflow_x.create", "workflow.activate"]
    exported = pg_api.get("/api/v1/audit/export.csv", params={"since": since}, headers=owner)
    rows = list(csv.DictReader(io.StringIO(exported.text)))
    assert [r["action"] for r in rows] == ["auth.login", "workflow_x.create", "workflow.activate"]
    assert rows[0]["details"] == '{"formula": "=1+1"}'
    assert pg_api.get("/api/v1/audit", headers=editor).status_code == 403


def test_queue_depth_reads_dramatiq_keys_in_redis(pg_api, configure, postgres_url, redis_url):
    configure(DATABASE_URL=postgres_url, QUEUE_BACKEND="redis", REDIS_URL=redis_url)
    _, _, root = user("root@example.com", is_admin=True)
    broker = make_broker(get_settings())
    broker.declare_queue("executions")
    for n in range(3):
        broker.enqueue(dramatiq.Message(queue_name="executions", actor_name="run_execution", args=(f"e{n}",),
                                        kwargs={}, options={}))
    broker.enqueue(dramatiq.Message(queue_name="executions", actor_name="run_execution", args=("later",),
                                    kwargs={}, options={}), delay=60_000)
    body = pg_api.get("/api/v1/admin/queue", headers=root).json()
    assert body["queue_backend"] == "redis" and body["redis_error"] is None
    assert body["redis"] == [{"name": "executions", "ready": 3, "delayed": 1, "in_redis": 4, "dead_lettered": 0}]
    health = pg_api.get("/api/v1/admin/health", headers=root).json()
    assert health["status"] == "ok"
    assert {name: health["checks"][name] for name in ("database", "redis")} == {"database": "ok", "redis": "ok"}
    assert health["code_sandbox"]["mode"] == "bwrap"  # an API process names the mode; workers report theirs
    broker.close()


def _start(role: str, log_path) -> subprocess.Popen:
    log = open(log_path, "ab")  # noqa: SIM115 - the child owns it
    return subprocess.Popen([sys.executable, "-m", "backend.cli", role], stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True)


def _rows_of(pid: int) -> list[WorkerHeartbeat]:
    with session_scope() as session:
        return list(session.scalars(select(WorkerHeartbeat).where(WorkerHeartbeat.pid == pid)))


def _wait(predicate, timeout_s: float, what: str):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if value := predicate():
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out after {timeout_s}s waiting for {what}")


def test_worker_and_scheduler_processes_beat_and_say_goodbye_on_sigterm(configure, postgres_url, redis_url, tmp_path):
    configure(DATABASE_URL=postgres_url, REDIS_URL=redis_url, QUEUE_BACKEND="redis", QUEUE_WORKER_THREADS="2")
    migrate.upgrade(postgres_url)
    processes = {role: _start(role, tmp_path / f"{role}.log") for role in ("worker", "scheduler")}
    try:
        [worker] = _wait(lambda: _rows_of(processes["worker"].pid), 60, "the worker's heartbeat")
        [scheduler] = _wait(lambda: _rows_of(processes["scheduler"].pid), 60, "the scheduler's heartbeat")
        assert worker.id == f"{socket.gethostname()}:{processes['worker'].pid}:worker"
        assert worker.details["queues"] == ["executions"] and worker.details["threads"] == 2
        assert worker.details["queue_backend"] == "redis" and worker.details["processed"] == 0
        assert scheduler.role == "scheduler" and scheduler.details["version"]
    finally:
        for process in processes.values():
            process.send_signal(signal.SIGTERM)
        for process in processes.values():
            process.wait(timeout=30)
    assert _rows_of(processes["worker"].pid) == [] and _rows_of(processes["scheduler"].pid) == []
