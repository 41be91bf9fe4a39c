"""Listener triggers on SQLite: activation writes the rows (or refuses bad ones with a 4xx), the triggers
endpoint shows their status to the owning team only, ``emit`` queues one execution per message, and a
listener the address policy refuses reports the error on its row."""

from __future__ import annotations

import asyncio

from sqlalchemy import select

from backend.credentials.service import create_credential
from backend.db.session import session_scope
from backend.executions.models import Execution
from backend.listeners import runner
from backend.listeners.models import TriggerListener


def redis_trigger_workflow(credential_id: str | None, **parameters) -> dict:
    node = {"id": "t", "name": "On order", "type": "redis_trigger", "version": 1, "position": [0, 0],
            "parameters": {"channels": "orders", **parameters}}
    if credential_id:
        node["credentials"] = {"redis": credential_id}
    return {"name": "orders", "nodes": [node, {"id": "n", "name": "Noop", "type": "noop", "version": 1,
                                                 "position": [200, 0]}],
            "connections": [{"from": "t", "output": "main", "to": "n", "input": "main"}]}


def redis_credential(team_id: str, host: str = "127.0.0.1") -> str:
    with session_scope() as session:
        return create_credential(session, team_id=team_id, name=f"redis {host}", type="redis",
                                 values={"host": host, "port": 6379}).id


def listeners(workflow_id: str) -> list[TriggerListener]:
    with session_scope() as session:
        rows = list(session.scalars(select(TriggerListener).where(TriggerListener.workflow_id == workflow_id)))
        session.expunge_all()
        return rows


def create(api, user, definition) -> str:
    created = api.post("/api/v1/workflows", json={"name": "orders", "definition": definition}, headers=user.headers)
    assert created.status_code == 201, created.text
    return created.json()["id"]


def test_activation_writes_a_listener_shown_to_the_team_and_deactivation_removes_it(api, api_user):
    owner, stranger = api_user("owner@example.com"), api_user("stranger@example.com")
    workflow_id = create(api, owner, redis_trigger_workflow(redis_credential(owner.team_id)))
    assert api.post(f"/api/v1/workflows/{workflow_id}/activate", headers=owner.headers).status_code == 200
    [row] = listeners(workflow_id)
    assert (row.node_id, row.node_type, row.status, row.messages) == ("t", "redis_trigger", "starting", 0)

    shown = api.get(f"/api/v1/workflows/{workflow_id}/triggers", headers=owner.headers)
    assert shown.status_code == 200
    assert shown.json()["active"] is True
    assert [(t["node_id"], t["status"]) for t in shown.json()["listeners"]] == [("t", "starting")]
    other = api.get(f"/api/v1/workflows/{workflow_id}/triggers", headers=stranger.headers)
    assert other.status_code == 404  # another team's id answers like a missing one

    assert api.post(f"/api/v1/workflows/{workflow_id}/deactivate", headers=owner.headers).status_code == 200
    assert listeners(workflow_id) == []
    assert api.get(f"/api/v1/workflows/{workflow_id}/triggers", headers=owner.headers).json() == {
        "active": False, "listeners": [], "vendor_hooks": []}


def test_activation_refuses_a_listener_without_its_credential(api, api_user):
    owner = api_user("owner@example.com")
    workflow_id = create(api, owner, redis_trigger_workflow(None))
    refused = api.post(f"/api/v1/workflows/{workflow_id}/activate", headers=owner.headers)
    assert refused.status_code in (400, 422), refused.text
    assert "no credential chosen for redis" in refused.text
    assert listeners(workflow_id) == []
    assert api.get(f"/api/v1/workflows/{workflow_id}", headers=owner.headers).json()["active"] is False


def test_bad_listener_parameters_save_as_a_draft_that_cannot_be_activated(api, api_user):
    owner = api_user("owner@example.com")
    saved = api.post("/api/v1/workflows", headers=owner.headers, json={
        "name": "orders", "definition": redis_trigger_workflow(redis_credential(owner.team_id), channels=" , ")})
    assert saved.status_code == 201, saved.text
    assert any("name at least one channel" in w["message"] for w in saved.json()["warnings"])
    refused = api.post(f"/api/v1/workflows/{saved.json()['id']}/activate", headers=owner.headers)
    assert refused.status_code == 422
    assert "name at least one channel" in refused.text
    assert listeners(saved.json()["id"]) == []


def _row(workflow_id: str) -> runner._Row:
    [row] = listeners(workflow_id)
    return runner._Row(row.id, row.team_id, row.workflow_id, row.version_id, row.node_id)


def test_emit_queues_one_execution_per_message_and_counts_it(api, api_user, held_queue):
    owner = api_user("owner@example.com")
    workflow_id = create(api, owner, redis_trigger_workflow(redis_credential(owner.team_id)))
    api.post(f"/api/v1/workflows/{workflow_id}/activate", headers=owner.headers)
    _, context = runner._prepare(_row(workflow_id))
    first = asyncio.run(context.emit([{"json": {"channel": "orders", "message": "1"}}]))
    second = asyncio.run(context.emit([{"json": {"channel": "orders", "message": "2"}}]))
    assert held_queue == [first, second]  # dispatched after the commit
    with session_scope() as session:
        runs = list(session.scalars(select(Execution).where(Execution.workflow_id == workflow_id)
                                    .order_by(Execution.created_at)))
        assert [(e.mode, e.status, e.input[0]["json"]["message"]) for e in runs] == [
            ("trigger", "queued", "1"), ("trigger", "queued", "2")]
        assert runs[0].definition["name"] == "orders"
    [row] = listeners(workflow_id)
    assert (row.messages, row.status, row.error) == (2, "listening", None)


def test_a_refused_address_is_reported_on_the_trigger_and_retried(api, api_user, monkeypatch):
    owner = api_user("owner@example.com")
    workflow_id = create(api, owner, redis_trigger_workflow(redis_credential(owner.team_id)))
    api.post(f"/api/v1/workflows/{workflow_id}/activate", headers=owner.headers)
    monkeypatch.setattr(runner, "BACKOFF_S", (0.05,))

    def reported() -> bool:
        return any(row.status == "error" for row in listeners(workflow_id))

    async def briefly() -> None:  # until the failure is on the row (written from a thread), then stopped
        task = asyncio.create_task(runner.run_listener(_row(workflow_id)))
        for _ in range(500):
            if task.done() or await asyncio.to_thread(reported):
                break
            await asyncio.sleep(0.02)
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)

    asyncio.run(briefly())
    [row] = listeners(workflow_id)
    assert row.status == "error"
    assert "127.0.0.1" in row.error and "retrying in 0.05s" in row.error
    shown = api.get(f"/api/v1/workflows/{workflow_id}/triggers", headers=owner.headers).json()
    assert shown["listeners"][0]["error"] == row.error


def test_the_runner_starts_listeners_of_active_workflows_and_stops_deactivated_ones(api, api_user, monkeypatch):
    owner = api_user("owner@example.com")
    workflow_id = create(api, owner, redis_trigger_workflow(redis_credential(owner.team_id)))
    api.post(f"/api/v1/workflows/{workflow_id}/activate", headers=owner.headers)
    started: list[str] = []

    async def fake_listener(row) -> None:  # the runner's bookkeeping only; real listeners: integration tests
        started.append(row.workflow_id)
        await asyncio.Event().wait()

    monkeypatch.setattr(runner, "run_listener", fake_listener)

    async def scenario() -> tuple[int, int, int]:
        runner_ = runner.ListenerRunner()
        await runner_.reconcile()
        await asyncio.sleep(0)
        await runner_.reconcile()  # still one: not started twice
        running = len(runner_.tasks)
        await asyncio.to_thread(api.post, f"/api/v1/workflows/{workflow_id}/deactivate", headers=owner.headers)
        await runner_.reconcile()
        return running, len(started), len(runner_.tasks)

    assert asyncio.run(scenario()) == (1, 1, 0)
