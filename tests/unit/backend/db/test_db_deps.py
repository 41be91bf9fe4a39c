"""The request's unit of work: one session, committed before the response, rolled back on errors."""

from __future__ import annotations

from typing import Annotated

import pytest
from fastapi import Depends, FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from backend import errors
from backend.db import migrate
from backend.db.deps import DbSession, db_session
from backend.db.session import session_scope
from backend.settings import get_settings
from backend.users.models import Team


def team_count() -> int:
    with session_scope() as session:
        return session.scalar(select(func.count()).select_from(Team))


def other(session: Annotated[Session, Depends(db_session)]) -> Session:
    return session


@pytest.fixture
def client():
    migrate.upgrade(get_settings().database_url)
    app = FastAPI()
    errors.install(app)

    @app.post("/same")
    def same(a: DbSession, b: Annotated[Session, Depends(other)]) -> dict:
        return {"same": a is b}

    @app.post("/ok")
    def ok(session: DbSession) -> dict:
        session.add(Team(name="t", slug="t"))
        return {"visible_elsewhere_before_return": team_count()}

    @app.post("/fail")
    def fail(session: DbSession) -> None:
        session.add(Team(name="t", slug="t2"))
        session.flush()
        raise errors.UserError("no")

    @app.post("/conflict")
    def conflict(session: DbSession) -> dict:
        session.add(Team(name="dup", slug="dup"))  # the unique slug fails only at commit
        return {"status": "looked fine"}

    with TestClient(app) as c:
        yield c


def test_every_dependency_of_a_request_gets_the_one_session(client):
    assert client.post("/same").json() == {"same": True}


def test_changes_commit_when_the_endpoint_succeeds(client):
    assert client.post("/ok").json() == {"visible_elsewhere_before_return": 0}
    assert team_count() == 1


def test_changes_roll_back_when_the_endpoint_fails(client):
    assert client.post("/fail").status_code == 400
    assert team_count() == 0


def test_a_failing_commit_is_an_http_error_not_a_success(client):
    with session_scope() as session:
        session.add(Team(name="dup", slug="dup"))
    response = client.post("/conflict")
    assert response.status_code == 409, "the commit runs before the response goes out"
    assert response.json()["error"]["code"] == "conflict"
