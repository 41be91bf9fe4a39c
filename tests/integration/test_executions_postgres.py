"""Execution search, stats and bulk operations on real PostgreSQL (jsonb text search, to_char hours,
window-function percentiles): the same answers as on SQLite."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from backend.app import create_app
from backend.db import migrate
from backend.db.base import utcnow
from tests.unit.backend.executions_testkit import add_execution, seed_day

PASSWORD = "correct horse battery staple"
URL = "/api/v1/executions"


@pytest.fixture
def pg_api(configure, postgres_url):
    configure(DATABASE_URL=postgres_url)
    migrate.upgrade(postgres_url)
    with TestClient(create_app()) as client:
        yield client


def signup(api, email: str) -> tuple[str, dict]:
    response = api.post("/api/v1/auth/signup", json={"email": email, "password": PASSWORD})
    assert response.status_code == 201, response.text
    body = response.json()
    return body["team"]["id"], {"Authorization": f"Bearer {body['access_token']}"}


def test_stats_on_postgres(pg_api):
    team, headers = signup(pg_api, "owner@example.com")
    other_team, _ = signup(pg_api, "other@example.com")
    base = utcnow().replace(minute=0, second=0, microsecond=0) - timedelta(hours=6)
    orders, billing = seed_day(team, base)
    add_execution(other_team, status="failed", created_at=base + timedelta(minutes=5), failed_node="Fetch")
    response = pg_api.get(f"{URL}/stats", params={"since": base.isoformat(),
                                                  "until": (base + timedelta(hours=4)).isoformat()}, headers=headers)
    assert response.status_code == 200, response.text
    body = response.json()
    hours = body["hours"]
    assert [h["total"] for h in hours] == [4, 0, 3, 1]
    assert [h["hour"][:13] for h in hours] == [(base + timedelta(hours=i)).isoformat()[:13] for i in range(4)]
    assert (hours[0]["p50_ms"], hours[0]["p95_ms"], hours[2]["p50_ms"], hours[2]["p95_ms"]) == (200, 1000, 500, 600)
    assert body["duration"] == {"p50_ms": 400, "p95_ms": 1000, "count": 7}
    assert [(w["name"], w["count"]) for w in body["top_failing_workflows"]] == [("Orders", 3), ("Billing", 1)]
    assert [(n["workflow_id"], n["node_name"], n["count"]) for n in body["top_failing_nodes"]] == [
        (orders, "Fetch", 3), (billing, "Parse", 1)]
    too_long = pg_api.get(f"{URL}/stats", params={"since": (base - timedelta(days=40)).isoformat()}, headers=headers)
    assert too_long.status_code == 422


def test_search_on_postgres(pg_api):
    team, headers = signup(pg_api, "owner@example.com")
    other_team, _ = signup(pg_api, "other@example.com")
    now = utcnow()
    percent = add_execution(team, created_at=now, input_items=[{"json": {"deal": "50% off", "code": "A_B"}}])
    plain = add_execution(team, created_at=now, input_items=[{"json": {"deal": "500 off", "code": "AxB"}}])
    accents = add_execution(team, created_at=now, input_items=[{"json": {"city": "Zürich", "note": 'say "hi"'}}],
                            step_output={"main": [{"json": {"Total": "EUR 99"}}]})
    add_execution(other_team, created_at=now, input_items=[{"json": {"city": "Zürich"}}])

    def found(q: str) -> set[str]:
        response = pg_api.get(URL, params={"q": q}, headers=headers)
        assert response.status_code == 200, response.text
        return {item["id"] for item in response.json()["items"]}

    assert found("50%") == {percent}
    assert found("a_b") == {percent}
    assert found("500") == {plain}
    assert found("zürich") == {accents}  # ILIKE folds non-ASCII case on PostgreSQL
    assert found('"hi"') == {accents}
    assert found("eur 99") == {accents}  # a step's output only
    assert found("nothing like it") == set()
