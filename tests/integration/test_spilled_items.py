"""Spilled items on real services: a worker (PostgreSQL, Redis, S3 on moto) SIGKILLed right after a step whose
items were spilled to S3 was committed; another worker resumes from the spilled object and finishes."""

from __future__ import annotations

import pytest
from crash_testkit import start, stop, wait_for
from sqlalchemy import select

from backend.db import migrate
from backend.db.session import session_scope
from backend.engine.items import SPILLED
from backend.executions import dispatch, service
from backend.executions.models import Execution, ExecutionStep
from backend.storage import keys
from backend.storage.service import get_storage
from backend.users.service import create_user

ROWS = 4000

DEFINITION = {
    "name": "spill on s3",
    "nodes": [
        {"id": "t", "name": "Start", "type": "manual_trigger", "version": 1, "position": [0, 0]},
        {"id": "a", "name": "A", "type": "set", "version": 1, "position": [1, 0],
         "parameters": {"fields": [{"name": "a", "value": "{{ $json.n * 3 }}"}]}},
        {"id": "f", "name": "Odd", "type": "filter", "version": 1, "position": [2, 0],
         "parameters": {"conditions": [{"left": "{{ $json.n % 2 }}", "operation": "equals", "right": 1}]}},
        {"id": "c", "name": "File", "type": "convert_to_file", "version": 1, "position": [3, 0],
         "parameters": {"operation": "ndjson"}},
    ],
    "connections": [{"from": "t", "to": "a"}, {"from": "a", "to": "f"}, {"from": "f", "to": "c"}],
}


@pytest.fixture
def team_id(configure, postgres_url, redis_url, s3_bucket) -> str:
    configure(DATABASE_URL=postgres_url, REDIS_URL=redis_url, QUEUE_BACKEND="redis", QUEUE_LEASE_SECONDS="3",
              QUEUE_WORKER_THREADS="2", STORAGE_SPILL_THRESHOLD_BYTES="65536")
    migrate.upgrade(postgres_url)
    with session_scope() as session:
        return create_user(session, email="spill@example.com", password="long enough")[1].id


def row(execution_id: str) -> Execution:
    with session_scope() as session:
        return session.get(Execution, execution_id)


def steps(execution_id: str) -> dict[str, ExecutionStep]:
    with session_scope() as session:
        found = session.scalars(select(ExecutionStep).where(ExecutionStep.execution_id == execution_id))
        return {step.node_name: step for step in found}


def test_a_worker_killed_after_a_spilled_step_is_resumed_from_s3(team_id, tmp_path):
    with session_scope() as session:
        execution_id = service.create_execution(
            session, team_id=team_id, definition=DEFINITION,
            input_items=[{"json": {"n": n, "pad": "p" * 40}} for n in range(ROWS)]).id
    dispatch.dispatch(execution_id)

    crashing = start(["worker"], tmp_path / "crashing.log", moment="after-step-a-committed")
    try:
        wait_for(lambda: crashing.poll() is not None, 60, "the worker to die after A's step")
    finally:
        stop(crashing)
    assert crashing.returncode == -9, (tmp_path / "crashing.log").read_text()[-2000:]
    committed = steps(execution_id)
    assert set(committed) == {"Start", "A"} and row(execution_id).status == "running"
    spilled = committed["A"].output["main"][SPILLED]
    assert spilled["count"] == ROWS
    stored = get_storage().info(keys.items_key(team_id, execution_id, spilled["id"]))  # in S3, not on disk
    assert stored.size == spilled["bytes"]

    survivor = start(["worker"], tmp_path / "survivor.log")
    try:
        done = wait_for(lambda: row(execution_id).status in ("succeeded", "failed") and row(execution_id),
                        60, "the resumed execution to finish")
    finally:
        stop(survivor)
    assert done.status == "succeeded", done.error
    after = steps(execution_id)
    assert after["A"].output == committed["A"].output and after["A"].started_at == committed["A"].started_at
    assert after["Odd"].output["main"][SPILLED]["count"] == ROWS // 2
    ref = done.output[0]["binary"]["data"]
    lines = b"".join(get_storage().open(keys.binary_key(team_id, execution_id, ref["id"]))).decode().splitlines()
    assert len(lines) == ROWS // 2 and lines[0] == '{"n": 1, "pad": "' + "p" * 40 + '", "a": 3}'
