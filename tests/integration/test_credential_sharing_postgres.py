"""Credential sharing, usage and the workflow-save check on real PostgreSQL (row locks, EXISTS, JSONB)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from backend.app import create_app
from backend.auth.tokens import issue_access_token
from backend.db import migrate
from backend.db.session import session_scope
from backend.users.models import Membership, Role
from backend.users.service import create_user

pytestmark = pytest.mark.integration
URL = "/api/v1/credentials"


@pytest.fixture
def api(configure, postgres_url):
    configure(DATABASE_URL=postgres_url)
    migrate.upgrade(postgres_url)
    with TestClient(create_app()) as client:
        yield client


def _user(email: str, team_id: str | None = None, role: Role = Role.OWNER) -> tuple[str, dict]:
    with session_scope() as session:
        user, own = create_user(session, email=email, password="a long enough password")
        if team_id:
            session.add(Membership(team_id=team_id, user_id=user.id, role=role))
        user_id, acting = user.id, team_id or own.id
    return user_id, {"Authorization": f"Bearer {issue_access_token(user_id)[0]}", "X-Team-Id": acting}


def _definition(credential_id: str) -> dict:
    return {"nodes": [{"id": "t", "name": "Start", "type": "manual_trigger", "parameters": {}},
                      {"id": "h", "name": "Call", "type": "http_request", "credentials": {"auth": credential_id},
                       "parameters": {"url": "https://api.example.com/", "authentication": "credential"}}],
            "connections": [{"from": "t", "to": "h"}]}


def test_private_credentials_usage_and_workflow_saves_on_postgres(api):
    _, owner = _user("owner@example.com")
    team_id = owner["X-Team-Id"]
    alice_id, alice = _user("alice@example.com", team_id, Role.EDITOR)
    bob_id, bob = _user("bob@example.com", team_id, Role.EDITOR)
    _, outsider = _user("outsider@example.com")

    created = api.post(URL, headers=alice, json={"name": "Alice's", "type": "bearer_token",
                                                 "values": {"token": "t0k3n-secret"}})
    assert created.status_code == 201, created.text
    credential_id = created.json()["id"]
    workflow = api.post("/api/v1/workflows", headers=alice, json={"name": "Uses it",
                                                                  "definition": _definition(credential_id)})
    assert workflow.status_code == 201, workflow.text

    assert api.put(f"{URL}/{credential_id}/sharing", headers=alice,
                   json={"shared_with_team": False, "user_ids": [_user("x@example.com")[0]]}).status_code == 422
    shared = api.put(f"{URL}/{credential_id}/sharing", headers=alice, json={"shared_with_team": False})
    assert shared.status_code == 200 and shared.json()["shared_with"] == []

    assert [c["name"] for c in api.get(URL, headers=bob).json()] == []
    assert api.get(f"{URL}/{credential_id}", headers=bob).status_code == 404
    assert api.patch(f"{URL}/{credential_id}", headers=bob, json={"name": "x"}).status_code == 404
    assert api.get(f"{URL}/{credential_id}", headers=outsider).status_code == 404
    refused = api.post("/api/v1/workflows", headers=bob, json={"name": "No", "definition": _definition(credential_id)})
    assert refused.status_code == 422 and refused.json()["error"]["details"][0]["node"] == "Call"

    assert api.put(f"{URL}/{credential_id}/sharing", headers=owner,
                   json={"shared_with_team": False, "user_ids": [bob_id]}).status_code == 200
    seen = api.get(URL, headers=bob).json()
    assert [(c["name"], c["usage_count"], c["owner"]["id"]) for c in seen] == [("Alice's", 1, alice_id)]
    usage = api.get(f"{URL}/{credential_id}/usage", headers=bob).json()
    assert usage == [{"id": workflow.json()["id"], "name": "Uses it", "active": False, "nodes": ["Call"]}]
    assert api.post("/api/v1/workflows", headers=bob,
                    json={"name": "Now yes", "definition": _definition(credential_id)}).status_code == 201
    assert api.delete(f"{URL}/{credential_id}", headers=bob).status_code == 403
    assert api.delete(f"{URL}/{credential_id}", headers=alice).status_code == 204
