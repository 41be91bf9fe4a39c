"""The Principal other routers receive from require_role(): who, which team, which role, how."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated

import pytest
from fastapi import APIRouter, Depends
from fastapi.testclient import TestClient

from backend import app as app_module
from backend.auth.deps import Principal, require_role
from backend.auth.tokens import issue_access_token
from backend.db import migrate
from backend.db.session import session_scope
from backend.settings import get_settings
from backend.users.models import Role, User
from backend.users.service import create_user

probe = APIRouter(prefix="/probe")


@probe.get("/viewer")
def as_viewer(principal: Annotated[Principal, Depends(require_role(Role.VIEWER))]) -> dict:
    return asdict(principal)


@probe.get("/admin")
def as_admin(principal: Annotated[Principal, Depends(require_role(Role.ADMIN))]) -> dict:
    return asdict(principal)


@pytest.fixture
def api(monkeypatch):
    monkeypatch.setattr(app_module, "SERVICE_ROUTERS", [*app_module.SERVICE_ROUTERS, probe])
    migrate.upgrade(get_settings().database_url)
    with TestClient(app_module.create_app()) as client:
        yield client


def test_require_role_hands_over_the_principal(api, signup):
    owner = signup("owner@example.com")
    body = api.get("/api/v1/probe/admin", headers=owner.headers).json()
    assert body == {"user_id": owner.user_id, "team_id": owner.team_id, "role": "owner", "api_key_id": None,
                    "is_admin": False}


def test_an_api_key_principal_names_the_key(api, signup):
    owner = signup("owner@example.com")
    key = api.post("/api/v1/api-keys", json={"name": "ci"}, headers=owner.headers).json()
    body = api.get("/api/v1/probe/viewer", headers={"X-API-Key": key["key"]}).json()
    assert body["api_key_id"] == key["id"] and body["team_id"] == owner.team_id and body["role"] == "owner"


def test_too_low_a_role_is_403_naming_the_role_needed(api, signup, add_member):
    owner, editor = signup("owner@example.com"), signup("editor@example.com")
    add_member(owner, editor, Role.EDITOR)
    response = api.get("/api/v1/probe/admin", headers=editor.in_team(owner.team_id))
    assert response.status_code == 403
    assert response.json()["error"]["message"] == \
        f"this needs the admin role or higher in team {owner.team_id}; you are editor"
    assert api.get("/api/v1/probe/viewer", headers=editor.in_team(owner.team_id)).json()["role"] == "editor"


def test_instance_admins_are_flagged(api):
    with session_scope() as session:
        user, team = create_user(session, email="root@example.com", password="long enough", is_admin=True)
        user_id, team_id = user.id, team.id
    token, _ = issue_access_token(user_id)
    body = api.get("/api/v1/probe/viewer", headers={"Authorization": f"Bearer {token}"}).json()
    assert body["is_admin"] is True and body["team_id"] == team_id


def test_a_disabled_account_is_401_even_with_a_valid_token(api, signup):
    owner = signup("owner@example.com")
    with session_scope() as session:
        session.get(User, owner.user_id).is_active = False
    response = api.get("/api/v1/probe/viewer", headers=owner.headers)
    assert response.status_code == 401
    assert api.post("/api/v1/auth/refresh", json={"refresh_token": owner.refresh_token}).status_code == 401
