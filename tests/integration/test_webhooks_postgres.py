"""Webhooks on real PostgreSQL: an inline run saved in one transaction, and a queued one."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from backend.app import create_app
from backend.db import migrate
from backend.db.session import session_scope
from backend.events.models import OutboxEvent
from backend.events.packed import events_of_row
from backend.executions import dispatch
from backend.executions.models import Execution, ExecutionStep
from backend.settings import get_settings
from backend.users.service import create_user
from backend.webhooks.service import invalidate_cache
from backend.workflows import activation
from backend.workflows.models import Workflow
from backend.workflows.service import save_version


def definition(respond: str, path: str) -> dict:
    return {
        "nodes": [
            {"id": "hook", "name": "Webhook", "type": "webhook", "version": 1, "position": [0, 0],
             "parameters": {"path": path, "method": "POST", "respond": respond}},
            {"id": "set", "name": "Double", "type": "set", "version": 1, "position": [1, 0],
             "parameters": {"keep_only_set": True, "fields": [
                 {"name": "double", "value": "{{ $json.body.n * 2 }}"},
                 {"name": "greeting", "value": '{{ "hello " + $json.body.name }}'}]}},
        ],
        "connections": [{"from": "hook", "to": "set"}],
    }


@pytest.fixture
def client(postgres_url, configure):
    configure(DATABASE_URL=postgres_url)
    migrate.upgrade(get_settings().database_url)
    invalidate_cache()
    with session_scope() as session:
        user, team = create_user(session, email="pg-hooks@example.com", password="a long enough password")
        for respond in ("last_node", "immediately"):
            workflow = Workflow(team_id=team.id, name=f"pg {respond}", created_by=user.id)
            session.add(workflow)
            session.flush()
            save_version(session, workflow, definition(respond, f"pg/{respond}"), user_id=user.id)
            activation.activate(session, workflow, user_id=user.id)  # registers the webhook
    with TestClient(create_app()) as test_client:
        yield test_client
    invalidate_cache()


def test_last_node_runs_inline_and_saves_row_steps_and_event(client):
    answers = [client.post("/webhook/pg/last_node", json={"n": n, "name": f"u{n}"}) for n in range(5)]
    assert [a.status_code for a in answers] == [200] * 5
    assert [a.json() for a in answers] == [{"double": n * 2, "greeting": f"hello u{n}"} for n in range(5)]
    with session_scope() as session:
        rows = session.scalars(select(Execution).where(Execution.mode == "webhook")).all()
        assert len(rows) == 5 and {r.status for r in rows} == {"succeeded"}
        steps = session.scalars(select(ExecutionStep.node_id).where(ExecutionStep.execution_id == rows[0].id)).all()
        assert sorted(steps) == ["hook", "set"]
        outbox = session.execute(select(OutboxEvent.key, OutboxEvent.payload)
                                 .where(OutboxEvent.topic == "execution.events")).all()
        events = [(key, e) for row in outbox for key, e in events_of_row(row.key, row.payload)]
        assert sorted((key, e["type"]) for key, e in events) == sorted((r.id, "execution.succeeded") for r in rows)


def test_immediately_commits_then_runs_on_the_queue(client):
    from backend.executions.worker_runtime import execute

    previous, seen = dispatch._dispatcher, []

    def run_now(execution_id: str) -> None:
        with session_scope() as session:  # committed before it was handed over
            seen.append(session.get(Execution, execution_id).status)
        execute(execution_id, "pg-test-worker")

    dispatch.register(run_now)
    try:
        response = client.post("/webhook/pg/immediately", json={"n": 4, "name": "pg"})
    finally:
        dispatch._dispatcher = previous
    assert response.status_code == 202
    execution_id = response.json()["execution_id"]
    assert seen == ["queued"]
    with session_scope() as session:
        execution = session.get(Execution, execution_id)
        assert (execution.status, execution.mode) == ("succeeded", "webhook")
        assert execution.output == [{"json": {"double": 8, "greeting": "hello pg"}}]
