"""Insights on PostgreSQL: 0013's conversion of 0011's rollups, and the API over facts counted by the consumer's
code and by `rebuild` (time saved, previous period, sorts, another team's workflow)."""

from __future__ import annotations

import importlib.util
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from backend.analytics.rebuild import rebuild
from backend.app import create_app
from backend.auth.tokens import issue_access_token
from backend.db import migrate
from backend.db.session import session_scope
from backend.executions.models import Execution
from backend.users.service import create_user
from tests.unit.backend.db.test_migration_0013_insights import check_insights_migration

pytestmark = pytest.mark.integration
_spec = importlib.util.spec_from_file_location(
    "insights_cases", Path(__file__).parents[1] / "unit/backend/analytics/test_insights.py")
cases = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(cases)
NOW = datetime.now(UTC)


def test_the_insights_migration_keeps_what_was_counted_on_postgresql(postgres_url):
    check_insights_migration(postgres_url)


class Who:
    def __init__(self, email: str) -> None:
        with session_scope() as session:
            user, team = create_user(session, email=email, password="a long enough password")
            self.user_id, self.team_id = user.id, team.id
        token, _ = issue_access_token(self.user_id)
        self.headers = {"Authorization": f"Bearer {token}", "X-Team-Id": self.team_id}


def test_insights_api_on_postgresql(postgres_url, configure):
    configure(DATABASE_URL=postgres_url)
    migrate.upgrade(postgres_url)
    with TestClient(create_app()) as api:
        owner, stranger = Who("owner@example.com"), Who("stranger@example.com")
        orders, flaky = cases.workflow(api, owner, "Orders"), cases.workflow(api, owner, "Flaky")
        assert cases.set_minutes(api, owner, orders, 4).status_code == 200
        cases.count(owner.team_id, orders, at=NOW, runs=30, duration_ms=8)
        cases.count(owner.team_id, orders, at=NOW - timedelta(hours=1), mode="schedule", runs=10, duration_ms=300)
        cases.count(owner.team_id, flaky, at=NOW, status="failed", runs=5, duration_ms=2_000)
        cases.count(owner.team_id, orders, at=cases.TODAY - timedelta(days=9), runs=15)  # the week before

        body = cases.get(api, owner, "summary", **cases.week())
        assert body["executions"] == 45 and body["by_status"] == {"succeeded": 40, "failed": 5}
        assert body["by_mode"] == {"webhook": 35, "schedule": 10}
        assert body["time_saved_minutes"] == 160  # 40 production successes × 4
        assert body["previous"]["executions"] == 15 and body["change"]["executions"] == pytest.approx(2.0)
        assert (body["p50_ms"], body["p95_ms"]) == (10.0, 2_500.0)
        assert body["webhook_latency"]["executions"] == 35 and body["webhook_latency"]["p95_ms"] == 2_500.0
        hours = cases.get(api, owner, "summary", since=(NOW - timedelta(hours=3)).isoformat(), granularity="hour")
        assert hours["executions"] == 45 and sum(p["executions"] for p in hours["series"]) == 45

        def names(**params) -> list:
            return [r["name"] for r in cases.get(api, owner, "workflows", **cases.week(**params))["items"]]

        assert names() == ["Orders", "Flaky"] and names(sort="failures") == ["Flaky", "Orders"]
        assert names(sort="time_saved_minutes", direction="asc") == ["Flaky", "Orders"]
        failures = cases.get(api, owner, "failures", **cases.week(workflow_id=flaky))["items"]
        assert failures == [{"workflow_id": flaky, "workflow_name": "Flaky", "failed_node": None, "failures": 5}]

        for path, params in (("summary", {"workflow_id": orders}), ("failures", {"workflow_id": orders})):
            response = api.get(f"/api/v1/analytics/{path}", headers=stranger.headers, params=params)
            assert response.status_code == 404 and "Orders" not in response.text
        assert cases.set_minutes(api, stranger, orders, 1).status_code == 404
        assert cases.get(api, stranger, "summary", **cases.week())["executions"] == 0

        # rebuild recounts from the executions kept, with the minutes as they are now
        with session_scope() as session:
            for n in range(3):
                started = NOW - timedelta(minutes=10 + n)
                session.add(Execution(team_id=owner.team_id, workflow_id=orders, definition={}, status="succeeded",
                                      mode="webhook", started_at=started,
                                      finished_at=started + timedelta(milliseconds=40)))
        with session_scope() as session:
            report = rebuild(session, cases.TODAY - timedelta(days=6))
        assert report["executions"] == 3
        body = cases.get(api, owner, "summary", **cases.week())
        assert body["executions"] == 3 and body["time_saved_minutes"] == 12 and body["p50_ms"] == 50.0
