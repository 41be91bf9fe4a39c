"""The request's unit of work: one session, committed before the response, rolled back on errors."""

from __future__ import annotations

import concurrent.futures
import time
from typing import Annotated

import pytest
from fastapi import Depends, FastAPI
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from backend import errors
from backend.app import create_app
from backend.db import migrate
from backend.db.deps import CommittingRoute, DbSession, db_session
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
    app.router.route_class = CommittingRoute  # as every router of the API
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

    @app.post("/flushed")
    def flushed(session: DbSession, n: int) -> dict:
        session.add(Team(name=f"burst {n}", slug=f"burst-{n}"))
        session.flush()  # SQLite's write lock is this request's from here until its commit
        return {"ok": True}

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


def test_a_burst_of_writes_larger_than_the_thread_pool_does_not_wait_on_itself(client):
    """Each sync endpoint holds a thread of AnyIO's 40 while it waits for SQLite's write lock; the request that
    holds the lock has returned and waits for its commit. Were the commit a job for that pool too, 40 waiting
    writers would leave it no thread: nothing moved until SQLite's 30 s wait ran out, and then every waiting
    request failed with "database is locked". The commit of a session that holds the lock runs on the loop."""
    started = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(80) as pool:
        codes = list(pool.map(lambda n: client.post("/flushed", params={"n": n}).status_code, range(200)))
    took = time.monotonic() - started
    assert codes == [200] * 200
    assert team_count() == 200
    assert took < 15, f"the burst took {took:.1f}s"


def test_the_apps_writes_survive_a_burst_larger_than_the_thread_pool(api, api_user):
    """The product's own app (backend/app.py commits every sync endpoint on its thread): 120 workflows created by
    80 clients at once, on SQLite."""
    owner = api_user("owner@example.com")

    def create(n: int) -> int:
        return api.post("/api/v1/workflows", json={"name": f"burst {n}", "definition": {"nodes": [], "connections": []}},
                        headers=owner.headers).status_code

    started = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(80) as pool:
        codes = list(pool.map(create, range(120)))
    took = time.monotonic() - started
    assert codes == [201] * 120
    assert api.get("/api/v1/workflows", headers=owner.headers).json()["total"] == 120
    assert took < 20, f"the burst took {took:.1f}s"


def test_every_router_of_the_app_commits_on_the_endpoint_thread():
    """A router made without `route_class=CommittingRoute` would bring the burst's 30 s wait back for its writes."""
    def included(routes) -> list:
        found = []
        for route in routes:
            inner = getattr(route, "original_router", None)
            if inner is not None:
                found += [r for r in inner.routes if isinstance(r, APIRoute)] + included(inner.routes)
        return found

    routes = included(create_app().routes)
    assert len(routes) > 100
    assert [route.path for route in routes if not isinstance(route, CommittingRoute)] == []
