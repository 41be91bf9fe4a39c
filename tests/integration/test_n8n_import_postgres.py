"""The n8n import API on real PostgreSQL: import, run the converted workflow, and a refused file leaves nothing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from backend.app import create_app
from backend.auth.tokens import issue_access_token
from backend.db import migrate
from backend.db.session import session_scope
from backend.executions import dispatch
from backend.executions.worker_runtime import execute
from backend.users.service import create_user
from backend.workflows.models import Workflow

pytestmark = pytest.mark.integration
FIXTURES = Path(__file__).parents[1] / "fixtures" / "n8n"


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


def test_import_then_run_on_postgres(api):
    headers = sign_in("ada@example.com")
    answer = api.post("/api/v1/workflows/import/n8n", headers=headers,
                      json=json.loads((FIXTURES / "lead_scoring.json").read_text()))
    assert answer.status_code == 201, answer.text
    workflow_id = answer.json()["workflow"]["id"]
    run = api.post(f"/api/v1/workflows/{workflow_id}/run", headers=headers, json={"input": [
        {"email": "a@acme.com", "employees": 500, "company": " Acme "},
        {"email": "c@small.com", "employees": 5, "company": "Small"}]})
    assert run.status_code in (200, 201, 202), run.text
    execution = api.get(f"/api/v1/executions/{run.json()['execution_id']}", headers=headers).json()
    assert execution["status"] == "succeeded"
    assert [i["json"]["domain"] for i in execution["output"]] == ["acme.com"]


def test_a_refused_file_creates_nothing_on_postgres(api):
    headers = sign_in("bob@example.com")
    answer = api.post("/api/v1/workflows/import/n8n", headers=headers,
                      json=json.loads((FIXTURES / "escape_attempt.json").read_text()))
    assert answer.status_code == 422 and "reaches outside" in answer.json()["error"]["message"]
    with session_scope() as session:
        assert session.scalar(select(func.count()).select_from(Workflow)) == 0
