"""The workflows and executions API on real PostgreSQL: create, update, find, run, read the steps."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from backend.app import create_app
from backend.auth.tokens import issue_access_token
from backend.db import migrate
from backend.db.session import session_scope
from backend.executions import dispatch
from backend.executions.worker_runtime import execute
from backend.users.service import create_user

pytestmark = pytest.mark.integration


def definition(factor: int) -> dict:
    return {"nodes": [
        {"id": "t", "name": "Start", "type": "manual_trigger", "position": [0, 0]},
        {"id": "m", "name": "Multiply", "type": "set", "position": [1, 0],
         "parameters": {"fields": [{"name": "total", "value": f"{{{{ $json.n * {factor} }}}}"}]}},
    ], "connections": [{"from": "t", "to": "m"}]}


@pytest.fixture
def api(configure, postgres_url):
    configure(DATABASE_URL=postgres_url)
    migrate.upgrade(postgres_url)
    previous = dispatch._dispatcher
    dispatch.register(lambda execution_id: execute(execution_id, "pg-test-worker"))
    with TestClient(create_app()) as client:
        yield client
    dispatch._dispatcher = previous


def sign_in(email: str) -> dict:
    with session_scope() as session:
        user, team = create_user(session, email=email, password="a long enough password")
        user_id, team_id = user.id, team.id
    return {"Authorization": f"Bearer {issue_access_token(user_id)[0]}", "X-Team-Id": team_id}


def test_create_update_run_and_read_the_execution(api):
    headers = sign_in("pg@example.com")
    created = api.post("/api/v1/workflows", json={"name": "PG 100% sync", "definition": definition(2),
                                                  "tags": ["pg", "nightly"]}, headers=headers)
    assert created.status_code == 201, created.text
    url = f"/api/v1/workflows/{created.json()['id']}"
    updated = api.patch(url, json={"definition": definition(3), "message": "triple"}, headers=headers).json()
    assert updated["versions"] == [1, 2]
    found = api.get("/api/v1/workflows", params={"tag": "nightly", "search": "100%"}, headers=headers).json()
    assert [w["id"] for w in found["items"]] == [created.json()["id"]]
    assert api.get("/api/v1/workflows", params={"tag": "night"}, headers=headers).json()["total"] == 0

    run = api.post(f"{url}/run", json={"input": [{"n": 2}, {"n": 5}]}, headers=headers)
    assert run.status_code == 202
    execution = api.get(f"/api/v1/executions/{run.json()['execution_id']}", headers=headers).json()
    assert execution["status"] == "succeeded"
    assert [s["node_name"] for s in execution["steps"]] == ["Start", "Multiply"]
    assert [i["json"]["total"] for i in execution["steps"][1]["output"]["main"]] == [6, 15]
    listed = api.get("/api/v1/executions", params={"workflow_id": created.json()["id"]}, headers=headers).json()
    assert listed["total"] == 1 and listed["items"][0]["duration_ms"] >= 0

    retry = api.post(f"/api/v1/executions/{execution['id']}/retry", headers=headers).json()
    again = api.get(f"/api/v1/executions/{retry['execution_id']}", headers=headers).json()
    assert again["status"] == "succeeded" and again["retry_of_id"] == execution["id"]
