"""Items past LINKFLOW_STORAGE_SPILL_THRESHOLD_BYTES in a real worker run (SQLite, local storage): the step
row holds a reference, the object is in storage before the row is committed, and a worker killed after
the step resumes from it without running the node again. The kill is injected where a process would die
(as in test_lost_attempts.py); tests/integration/test_spilled_items.py SIGKILLs a real worker on S3."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select, update

from backend.db import migrate
from backend.db.base import utcnow
from backend.db.session import session_scope
from backend.engine.items import SPILLED
from backend.executions import service, worker_runtime
from backend.executions.control import delete_execution, retry_execution
from backend.executions.history import execution_detail
from backend.executions.models import Execution, ExecutionStep
from backend.executions.reaper import due_executions
from backend.executions.sql_store import SqlStepStore
from backend.settings import get_settings
from backend.storage import keys
from backend.storage.service import discard_execution, get_storage
from backend.users.service import create_user
from nodes.builtin.aggregate import Aggregate
from nodes.builtin.set import Set
from nodes.sdk import NodeUserError

ROWS = 3000  # ~60 bytes each as JSON: past the 64 KiB threshold

DEFINITION = {
    "name": "spill",
    "nodes": [
        {"id": "t", "name": "Start", "type": "manual_trigger", "version": 1, "position": [0, 0]},
        {"id": "a", "name": "A", "type": "set", "version": 1, "position": [1, 0],
         "parameters": {"fields": [{"name": "a", "value": "{{ $json.n + 1 }}"}]}},
        {"id": "f", "name": "Odd", "type": "filter", "version": 1, "position": [2, 0],
         "parameters": {"conditions": [{"left": "{{ $json.n % 2 }}", "operation": "equals", "right": 1}]}},
        {"id": "c", "name": "Count", "type": "aggregate", "version": 1, "position": [3, 0],
         "parameters": {"fields": [{"field": "a"}]}},
    ],
    "connections": [{"from": "t", "to": "a"}, {"from": "a", "to": "f"}, {"from": "f", "to": "c"}],
}


class WorkerKilled(BaseException):
    """What SIGKILL does to a worker, as far as the database can tell."""


@pytest.fixture
def ids(configure) -> tuple[str, str]:
    configure(STORAGE_SPILL_THRESHOLD_BYTES="65536")
    migrate.upgrade(get_settings().database_url)
    with session_scope() as session:
        _, team = create_user(session, email="spill@example.com", password="long enough password")
        execution = service.create_execution(session, team_id=team.id, definition=DEFINITION,
                                             input_items=[{"json": {"n": n, "pad": "p" * 40}} for n in range(ROWS)])
        return team.id, execution.id


def step_rows(execution_id: str) -> dict[str, ExecutionStep]:
    with session_scope() as session:
        steps = session.scalars(select(ExecutionStep).where(ExecutionStep.execution_id == execution_id))
        return {step.node_name: step for step in steps}


def test_a_spilled_step_is_stored_first_and_a_killed_worker_resumes_from_it(ids, monkeypatch):
    team_id, execution_id = ids
    save, stored_when_committed = SqlStepStore._save, {}

    async def saving(self, step):
        if step.node_name == "Odd":
            raise WorkerKilled  # dies as Odd's step is committed: A's step is in, Odd's is not
        if step.node_name == "A":  # the object is complete in storage before the row is written
            ref = step.output["main"].ref
            stored_when_committed["A"] = get_storage().info(keys.items_key(team_id, execution_id, ref["id"])).size
        await save(self, step)

    monkeypatch.setattr(SqlStepStore, "_save", saving)
    with pytest.raises(WorkerKilled):
        worker_runtime.execute(execution_id, "worker-1")
    monkeypatch.setattr(SqlStepStore, "_save", save)

    committed = step_rows(execution_id)
    assert set(committed) == {"Start", "A"}
    marker = committed["A"].output["main"][SPILLED]
    assert marker["count"] == ROWS and marker["execution_id"] == execution_id and committed["A"].output_ref is None
    assert stored_when_committed["A"] == marker["bytes"] > 0
    assert committed["A"].input_ref  # the trigger's items (a list passed on as it came): offloaded as before

    calls = []
    execute = Set.execute

    async def counting(self, ctx, items):
        calls.append(len(items))
        return await execute(self, ctx, items)

    monkeypatch.setattr(Set, "execute", counting)
    with session_scope() as session:  # the lease runs out; the reaper hands the execution on
        session.execute(update(Execution).where(Execution.id == execution_id)
                        .values(lease_expires_at=utcnow() - timedelta(seconds=1)))
    assert due_executions() == [execution_id]
    worker_runtime.execute(execution_id, "worker-2")

    with session_scope() as session:
        done = session.get(Execution, execution_id)
        assert done.status == "succeeded", done.error
        assert done.output == [{"json": {"a": [n + 1 for n in range(1, ROWS, 2)]}}]
    assert calls == []  # A was not run again: its spilled output was read back
    after = step_rows(execution_id)
    assert after["A"].output == committed["A"].output
    assert after["Odd"].output["main"][SPILLED]["count"] == ROWS // 2


def test_the_execution_view_previews_a_spilled_port_and_its_objects_go_with_the_execution(ids):
    team_id, execution_id = ids
    worker_runtime.execute(execution_id, "worker-1")
    with session_scope() as session:
        detail = execution_detail(session, session.get(Execution, execution_id))
    shown = next(step for step in detail.steps if step.node_name == "Odd").output["main"]
    assert shown[SPILLED]["count"] == ROWS // 2
    assert len(shown["preview"]) == 100 and shown["preview"][0]["json"] == {"n": 1, "pad": "p" * 40, "a": 2}
    prefix = keys.execution_prefix(team_id, execution_id) + "/items"
    assert len(list(get_storage().list(prefix))) >= 2
    from backend.storage.service import discard_execution

    discard_execution(team_id, execution_id)
    assert list(get_storage().list(prefix)) == []


def test_a_retry_from_the_failed_step_gets_its_own_copy_of_the_spilled_items(ids, monkeypatch):
    team_id, execution_id = ids
    aggregate = Aggregate.execute

    async def failing(self, ctx, items):
        raise NodeUserError("the partner is down")  # Count fails: the execution fails after Odd

    monkeypatch.setattr(Aggregate, "execute", failing)
    worker_runtime.execute(execution_id, "worker-1")
    monkeypatch.setattr(Aggregate, "execute", aggregate)
    with session_scope() as session:
        original = session.get(Execution, execution_id)
        assert original.status == "failed"
        retry_id = retry_execution(session, original, from_failed_step=True).id
    copied = step_rows(retry_id)["Odd"].output["main"][SPILLED]
    assert copied["execution_id"] == retry_id and copied["count"] == ROWS // 2
    with session_scope() as session:  # the original goes, with its objects
        delete_execution(session, session.get(Execution, execution_id))
    discard_execution(team_id, execution_id)

    calls = []
    execute = Set.execute

    async def counting(self, ctx, items):
        calls.append(len(items))
        return await execute(self, ctx, items)

    monkeypatch.setattr(Set, "execute", counting)
    worker_runtime.execute(retry_id, "worker-2")
    with session_scope() as session:
        done = session.get(Execution, retry_id)
        assert done.status == "succeeded", done.error
        assert done.output == [{"json": {"a": [n + 1 for n in range(1, ROWS, 2)]}}]
    assert calls == []  # A and Odd replayed from the retry's own copies
