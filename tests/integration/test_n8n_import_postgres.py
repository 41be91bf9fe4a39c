"""The n8n import API on real PostgreSQL: import, run the converted workflow, and a refused file leaves nothing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import test_workflows_api_postgres
from sqlalchemy import func, select
from test_workflows_api_postgres import sign_in

from backend.db.session import session_scope
from backend.workflows.models import Workflow

pytestmark = pytest.mark.integration
FIXTURES = Path(__file__).parents[1] / "fixtures" / "n8n"


api = test_workflows_api_postgres.api  # the fixture: the API on PostgreSQL with an in-process worker


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
