"""Fixtures of the HTTP API tests: an app on a migrated SQLite database, signed-in users,
and a queue that either runs executions inline or only holds them."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from fastapi.testclient import TestClient

from backend.app import create_app
from backend.auth.tokens import issue_access_token
from backend.db import migrate
from backend.db.session import session_scope
from backend.executions import dispatch
from backend.settings import get_settings
from backend.users.models import Membership, Role
from backend.users.service import create_user


@dataclass
class ApiUser:
    user_id: str
    team_id: str
    headers: dict[str, str]


@pytest.fixture
def api():
    migrate.upgrade(get_settings().database_url)
    with TestClient(create_app()) as client:
        yield client


@pytest.fixture
def api_user(api):
    """api_user("a@x.io") owns a new team; api_user("b@x.io", team_id=t, role=Role.VIEWER) joins t."""

    def make(email: str, *, team_id: str | None = None, role: Role = Role.OWNER) -> ApiUser:
        with session_scope() as session:
            user, own_team = create_user(session, email=email, password="a long enough password")
            if team_id is not None:
                session.add(Membership(team_id=team_id, user_id=user.id, role=role))
            user_id, acting_team = user.id, team_id or own_team.id
        token, _ = issue_access_token(user_id)
        return ApiUser(user_id, acting_team, {"Authorization": f"Bearer {token}", "X-Team-Id": acting_team})

    return make


@pytest.fixture
def inline_worker():
    """Executions run to their end inside the request that dispatches them."""
    from backend.executions.worker_runtime import execute

    previous = dispatch._dispatcher
    dispatch.register(lambda execution_id: execute(execution_id, "test-worker"))
    yield
    dispatch._dispatcher = previous


@pytest.fixture
def held_queue():
    """Dispatched ids are only collected, so executions stay queued."""
    held: list[str] = []
    previous = dispatch._dispatcher
    dispatch.register(held.append)
    yield held
    dispatch._dispatcher = previous
