"""Activation registers schedule triggers in the same transaction; deactivation drops them."""

from sqlalchemy import select

from backend.db.session import session_scope
from backend.schedules.models import Schedule


def scheduled(cron: str) -> dict:
    return {
        "name": "nightly",
        "nodes": [
            {"id": "s", "name": "Every night", "type": "schedule", "version": 1, "position": [0, 0],
             "parameters": {"cron": cron, "timezone": "Europe/Berlin"}},
            {"id": "n", "name": "Noop", "type": "noop", "version": 1, "position": [200, 0]},
        ],
        "connections": [{"from": "s", "output": "main", "to": "n", "input": "main"}],
    }


def schedules(workflow_id: str) -> list[Schedule]:
    with session_scope() as session:
        return list(session.scalars(select(Schedule).where(Schedule.workflow_id == workflow_id)))


def test_activate_creates_the_schedule_and_deactivate_removes_it(api, api_user):
    owner = api_user("owner@example.com")
    created = api.post("/api/v1/workflows", json={"name": "nightly", "definition": scheduled("30 2 * * *")},
                       headers=owner.headers)
    assert created.status_code == 201, created.text
    workflow_id = created.json()["id"]
    assert schedules(workflow_id) == []

    assert api.post(f"/api/v1/workflows/{workflow_id}/activate", headers=owner.headers).status_code == 200
    [row] = schedules(workflow_id)
    assert (row.cron, row.timezone, row.node_id) == ("30 2 * * *", "Europe/Berlin", "s")
    assert row.next_run_at is not None

    assert api.post(f"/api/v1/workflows/{workflow_id}/deactivate", headers=owner.headers).status_code == 200
    assert schedules(workflow_id) == []


def hooked(path: str) -> dict:
    return {
        "name": "hook",
        "nodes": [
            {"id": "w", "name": "Hook", "type": "webhook", "version": 1, "position": [0, 0],
             "parameters": {"path": path, "method": "POST", "respond": "last_node"}},
            {"id": "s", "name": "Double", "type": "set", "version": 1, "position": [200, 0],
             "parameters": {"fields": [{"name": "double", "value": "{{ $json.body.n * 2 }}"}],
                            "keep_only_set": True}},
        ],
        "connections": [{"from": "w", "output": "main", "to": "s", "input": "main"}],
    }


def test_activation_opens_the_production_webhook_and_refuses_a_taken_path(api, api_user):
    owner = api_user("hooks@example.com")
    first = api.post("/api/v1/workflows", json={"name": "first", "definition": hooked("orders")},
                     headers=owner.headers).json()["id"]
    assert api.post("/webhook/orders", json={"n": 2}).status_code == 404  # not active yet
    assert api.post(f"/api/v1/workflows/{first}/activate", headers=owner.headers).status_code == 200
    answer = api.post("/webhook/orders", json={"n": 21})
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"double": 42}

    second = api.post("/api/v1/workflows", json={"name": "second", "definition": hooked("orders")},
                      headers=owner.headers).json()["id"]
    refused = api.post(f"/api/v1/workflows/{second}/activate", headers=owner.headers)
    assert refused.status_code == 409
    assert "first" in refused.json()["error"]["message"]

    assert api.post(f"/api/v1/workflows/{first}/deactivate", headers=owner.headers).status_code == 200
    assert api.post("/webhook/orders", json={"n": 1}).status_code == 404
