"""An inline webhook run has a durable execution row before its first node with side effects acts
(issue #18, finding 2); runs of pure nodes stay in memory until they end."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.exc import OperationalError
from webhook_testkit import execution_count, executions, flow, hook, node

from backend.db.session import session_scope
from backend.events.models import OutboxEvent
from backend.executions.models import Execution, ExecutionStep
from backend.webhooks import group_commit, runs

DOUBLE = node("set", "Double", "set", 1, keep_only_set=True, fields=[{"name": "double", "value": "{{ $json.body.n * 2 }}"}])


def what_the_database_holds() -> list[tuple[str, bool, list[str]]]:
    """(status, leased to this web process, step node ids) of every execution, seen from another connection."""
    with session_scope() as session:
        rows = []
        for execution in session.scalars(select(Execution)):
            steps = session.scalars(select(ExecutionStep.node_id).where(ExecutionStep.execution_id == execution.id))
            rows.append((execution.status, execution.lease_owner == runs.WEB_WORKER_ID, sorted(steps)))
        return rows


def steps_of(execution_id: str) -> list[str]:
    with session_scope() as session:
        return sorted(session.scalars(select(ExecutionStep.node_id).where(ExecutionStep.execution_id == execution_id)))


def events_of(execution_id: str) -> list[str]:
    with session_scope() as session:
        return [event.payload["type"] for event in
                session.scalars(select(OutboxEvent).where(OutboxEvent.key == execution_id,
                                                          OutboxEvent.topic == "execution.events"))]


def call(url: str) -> dict:
    return node("call", "Call", "http_request", 2, url=url)


def test_the_execution_row_is_committed_before_a_node_with_side_effects_acts(api, deploy, slow_server):
    partner = slow_server(0.2)
    partner.during = what_the_database_holds
    deploy(flow(hook("orders"), DOUBLE, call(partner.url)))
    response = api.post("/webhook/orders", json={"n": 2})
    assert response.status_code == 200 and response.json()["body"] == {"slow": True}
    assert partner.seen == [[("running", True, [])]]  # recorded, leased to this process; steps come at the end
    [execution] = executions()
    assert (execution.status, execution.lease_owner, execution.lease_expires_at) == ("succeeded", None, None)
    assert steps_of(execution.id) == ["call", "hook", "set"]
    assert events_of(execution.id) == ["execution.succeeded"]


def test_with_save_data_none_the_recorded_row_ends_with_its_outcome_and_no_steps(api, deploy, slow_server):
    partner = slow_server(0.2)
    partner.during = what_the_database_holds
    deploy(flow(hook("orders"), call(partner.url), settings={"save_data": "none"}))
    assert api.post("/webhook/orders", json={"n": 2}).status_code == 200
    assert partner.seen == [[("running", True, [])]]
    [execution] = executions()
    assert execution.status == "succeeded" and steps_of(execution.id) == []


def test_a_run_of_pure_nodes_writes_nothing_before_it_ends(api, deploy, monkeypatch):
    seen = []
    real = group_commit.write_recorded
    monkeypatch.setattr(group_commit, "write_recorded", lambda drafts: (seen.append(len(drafts)), real(drafts)))
    deploy(flow(hook("orders"), DOUBLE, settings={"save_data": "none"}))
    assert api.post("/webhook/orders", json={"n": 2}).json() == {"double": 4}
    assert seen == [] and execution_count() == 0


def test_when_the_row_cannot_be_recorded_the_node_with_side_effects_does_not_run(api, deploy, slow_server,
                                                                               monkeypatch):
    partner = slow_server(0.0)
    partner.during = what_the_database_holds

    def database_down(drafts):
        raise OperationalError("INSERT INTO executions ...", {}, Exception("connection refused"))

    monkeypatch.setattr(group_commit, "write_recorded", database_down)
    deploy(flow(hook("orders"), DOUBLE, call(partner.url)))
    with pytest.raises(OperationalError):  # an unexpected error: a 500 (the test client raises it instead)
        api.post("/webhook/orders", json={"n": 2})
    assert partner.seen == [] and execution_count() == 0
