"""Insights: time saved per workflow, the previous period, webhook latency, the workflow table and its sorts,
and that another team's workflow is a 404 with nothing of it in the answer."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import pytest

from backend.analytics.service import record_usage
from backend.db.session import session_scope
from backend.events.schemas.other import ExecutionUsage

NOW = datetime.now(UTC)
TODAY = NOW.replace(hour=0, minute=0, second=0, microsecond=0)
_ids = itertools.count(1)


def count(team_id: str, workflow_id: str | None, *, at: datetime, status: str = "succeeded", mode: str = "webhook",
          duration_ms: float = 40.0, runs: int = 1) -> None:
    """`runs` finished executions of a workflow at `at`, counted straight into the rollups."""
    facts = [{"execution_id": f"ex-{next(_ids)}", "mode": mode, "status": status, "finished_at": at.isoformat(),
              "duration_ms": duration_ms, "items": 2} for _ in range(runs)]
    with session_scope() as session:
        assert record_usage(session, ExecutionUsage(type="usage.executions", team_id=team_id,
                                                    workflow_id=workflow_id, executions=facts,
                                                    event_id=next(_ids)))


def workflow(api, who, name: str) -> str:
    definition = {"nodes": [{"id": "t", "name": "Start", "type": "manual_trigger", "position": [0, 0]}],
                  "connections": []}
    response = api.post("/api/v1/workflows", headers=who.headers, json={"name": name, "definition": definition})
    assert response.status_code == 201, response.text
    return response.json()["id"]


def week(**extra) -> dict:
    return {"since": (TODAY - timedelta(days=6)).isoformat(), "until": NOW.isoformat(), **extra}


def get(api, who, path: str, **params) -> dict:
    response = api.get(f"/api/v1/analytics/{path}", headers=who.headers, params=params)
    assert response.status_code == 200, response.text
    return response.json()


def set_minutes(api, who, workflow_id: str, minutes) -> object:
    return api.put(f"/api/v1/analytics/workflows/{workflow_id}/time-saved", headers=who.headers,
                   json={"minutes_per_run": minutes})


def test_time_saved_counts_successful_production_runs_times_the_minutes_set_when_they_ran(api, api_user):
    owner = api_user("owner@example.com")
    orders, reports = workflow(api, owner, "Orders"), workflow(api, owner, "Reports")
    count(owner.team_id, orders, at=NOW, runs=7)  # before anything was set: saved nothing
    answer = set_minutes(api, owner, orders, 2.5)
    assert answer.status_code == 200, answer.text
    assert answer.json()["minutes_per_run"] == 2.5
    assert get(api, owner, f"workflows/{orders}/time-saved")["minutes_per_run"] == 2.5
    count(owner.team_id, orders, at=NOW, runs=3)
    count(owner.team_id, orders, at=NOW, status="failed")  # failed: saved nothing
    count(owner.team_id, orders, at=NOW, mode="manual", runs=5)  # someone trying it: saved nothing
    count(owner.team_id, orders, at=NOW, mode="schedule", runs=2)
    count(owner.team_id, reports, at=NOW, runs=4)  # no minutes set: saves nothing

    body = get(api, owner, "summary", **week())
    assert body["time_saved_minutes"] == 12.5  # (3 webhook + 2 schedule) × 2.5
    assert sum(p["time_saved_minutes"] for p in body["series"]) == 12.5
    assert get(api, owner, "summary", **week(workflow_id=orders))["time_saved_minutes"] == 12.5
    assert get(api, owner, "summary", **week(workflow_id=reports))["time_saved_minutes"] == 0
    rows = {r["name"]: r for r in get(api, owner, "workflows", **week())["items"]}
    assert (rows["Orders"]["time_saved_minutes"], rows["Orders"]["minutes_per_run"]) == (12.5, 2.5)
    assert (rows["Reports"]["time_saved_minutes"], rows["Reports"]["minutes_per_run"]) == (0, None)

    assert set_minutes(api, owner, orders, None).json()["minutes_per_run"] is None  # cleared: from now on
    count(owner.team_id, orders, at=NOW, runs=3)
    assert set_minutes(api, owner, reports, 1).status_code == 200
    count(owner.team_id, reports, at=NOW, runs=4)
    assert get(api, owner, "summary", **week())["time_saved_minutes"] == 12.5 + 4


def test_totals_are_compared_with_the_period_just_before(api, api_user):
    owner = api_user("owner@example.com")
    orders = workflow(api, owner, "Orders")
    count(owner.team_id, orders, at=NOW, runs=6, duration_ms=8)
    count(owner.team_id, orders, at=NOW, status="failed", runs=2, duration_ms=8)
    count(owner.team_id, orders, at=TODAY - timedelta(days=8), runs=4, duration_ms=8)  # the week before
    count(owner.team_id, orders, at=TODAY - timedelta(days=30), runs=50)  # before that: in neither
    body = get(api, owner, "summary", **week())
    assert body["executions"] == 8 and body["previous"]["executions"] == 4
    assert body["change"]["executions"] == pytest.approx(1.0)  # twice as many
    assert body["change"]["failure_rate"] == pytest.approx(0.25)  # 25 % failed, none before: +25 points
    assert body["change"]["average_ms"] == pytest.approx(0.0)
    assert body["previous"]["since"].startswith((TODAY - timedelta(days=13)).date().isoformat()[:8])
    assert [p["period_start"][:10] for p in body["series"]] == [
        (TODAY - timedelta(days=d)).date().isoformat() for d in range(6, -1, -1)]
    assert body["series"][-1]["succeeded"] == 6 and body["series"][-1]["failed"] == 2
    assert body["series"][-1]["p95_ms"] == 10.0 and body["series"][0]["p95_ms"] is None


def test_webhook_latency_is_read_from_webhook_runs_only(api, api_user):
    owner = api_user("owner@example.com")
    count(owner.team_id, None, at=NOW, mode="webhook", runs=19, duration_ms=20)
    count(owner.team_id, None, at=NOW, mode="webhook", runs=1, duration_ms=900)
    count(owner.team_id, None, at=NOW, mode="schedule", runs=30, duration_ms=20_000)
    latency = get(api, owner, "summary", **week())["webhook_latency"]
    assert latency["executions"] == 20 and (latency["p50_ms"], latency["p95_ms"], latency["p99_ms"]) == (
        25.0, 25.0, 1_000.0)
    assert latency["average_ms"] == pytest.approx((19 * 20 + 900) / 20)


def test_the_workflow_table_sorts_both_ways_and_names_workflows(api, api_user):
    owner = api_user("owner@example.com")
    busy, flaky, slow = (workflow(api, owner, n) for n in ("Busy", "Flaky", "Slow"))
    count(owner.team_id, busy, at=NOW, runs=10, duration_ms=5)
    count(owner.team_id, flaky, at=NOW, runs=2, duration_ms=5)
    count(owner.team_id, flaky, at=NOW, status="failed", runs=3, duration_ms=5)
    count(owner.team_id, slow, at=NOW, runs=1, duration_ms=50_000)
    count(owner.team_id, "gone", at=NOW, runs=1)  # a workflow since deleted

    def names(**params) -> list:
        return [r["name"] for r in get(api, owner, "workflows", **week(**params))["items"]]

    assert names()[:2] == ["Busy", "Flaky"] and set(names()[2:]) == {"Slow", None}  # by runs, largest first
    assert names(direction="asc")[2:] == ["Flaky", "Busy"]
    assert names(sort="failures")[0] == "Flaky" and names(sort="failure_rate")[0] == "Flaky"
    assert names(sort="p95_ms")[0] == "Slow" and names(sort="average_ms", direction="asc")[0] in ("Busy", "Flaky")
    assert names(sort="name") == ["Slow", "Flaky", "Busy", None]
    assert names(sort="name", direction="asc")[:3] == [None, "Busy", "Flaky"]
    gone = [r for r in get(api, owner, "workflows", **week())["items"] if r["workflow_id"] == "gone"][0]
    assert gone["deleted"] is True and gone["name"] is None
    flaky_row = [r for r in get(api, owner, "workflows", **week())["items"] if r["name"] == "Flaky"][0]
    assert flaky_row["failure_rate"] == pytest.approx(0.6) and flaky_row["executions"] == 5
    assert get(api, owner, "workflows", **week(granularity="hour",
                                               since=(NOW - timedelta(hours=2)).isoformat()))["items"]


def test_another_teams_workflow_is_a_404_and_its_data_stays_out(api, api_user):
    owner, stranger = api_user("owner@example.com"), api_user("stranger@example.com")
    secret = workflow(api, owner, "Payroll")
    count(owner.team_id, secret, at=NOW, runs=3)
    count(owner.team_id, secret, at=NOW, status="failed")
    assert set_minutes(api, owner, secret, 10).status_code == 200
    for method, path, body in (("GET", "summary", None), ("GET", "failures", None),
                               ("GET", f"workflows/{secret}/time-saved", None),
                               ("PUT", f"workflows/{secret}/time-saved", {"minutes_per_run": 999})):
        params = {"workflow_id": secret} if path in ("summary", "failures") else None
        response = api.request(method, f"/api/v1/analytics/{path}", headers=stranger.headers, params=params,
                               json=body)
        assert response.status_code == 404, (path, response.text)
        assert "Payroll" not in response.text and '"executions"' not in response.text
    assert get(api, owner, f"workflows/{secret}/time-saved")["minutes_per_run"] == 10  # unchanged
    stranger_view = get(api, stranger, "summary", **week())
    assert stranger_view["executions"] == 0 and stranger_view["time_saved_minutes"] == 0
    assert get(api, stranger, "workflows", **week())["items"] == []
    assert get(api, stranger, "failures", **week())["items"] == []


def test_a_workflow_moved_to_another_team_counts_time_saved_there_once_set_there(api, api_user):
    from backend.analytics.models import TimeSaved
    from backend.workflows.models import Workflow

    owner, other = api_user("owner@example.com"), api_user("other@example.com")
    orders = workflow(api, owner, "Orders")
    assert set_minutes(api, owner, orders, 3).status_code == 200
    with session_scope() as session:
        session.get(Workflow, orders).team_id = other.team_id
    count(other.team_id, orders, at=NOW)  # the old team's setting is not the new team's
    assert get(api, other, "summary", **week())["time_saved_minutes"] == 0
    assert get(api, other, "workflows", **week())["items"][0]["minutes_per_run"] is None
    assert set_minutes(api, other, orders, 2).status_code == 200
    count(other.team_id, orders, at=NOW)
    assert get(api, other, "summary", **week())["time_saved_minutes"] == 2
    with session_scope() as session:
        assert session.get(TimeSaved, orders).team_id == other.team_id


def test_only_editors_set_time_saved(api, api_user):
    from backend.users.models import Role

    owner = api_user("owner@example.com")
    viewer = api_user("viewer@example.com", team_id=owner.team_id, role=Role.VIEWER)
    orders = workflow(api, owner, "Orders")
    assert set_minutes(api, viewer, orders, 5).status_code == 403
    assert get(api, viewer, f"workflows/{orders}/time-saved")["minutes_per_run"] is None


@pytest.mark.parametrize("body, says", [
    ({"minutes_per_run": -1}, "greater than or equal"),
    ({"minutes_per_run": 10_001}, "less than or equal"),
    ({"minutes_per_run": "many"}, "valid number"),
    ({"minutes_per_run": 5, "extra": 1}, "extra"),
    ({}, "required"),
    ({"minutes_per_run": [[[[[[1]]]]]]}, ""),
])
def test_a_bad_time_saved_is_refused_and_changes_nothing(api, api_user, body, says):
    owner = api_user("owner@example.com")
    orders = workflow(api, owner, "Orders")
    assert set_minutes(api, owner, orders, 3).status_code == 200
    response = api.put(f"/api/v1/analytics/workflows/{orders}/time-saved", headers=owner.headers, json=body)
    assert response.status_code == 422 and says in response.text.lower()
    assert get(api, owner, f"workflows/{orders}/time-saved")["minutes_per_run"] == 3


@pytest.mark.parametrize("path, params", [
    ("workflows", {"sort": "runs"}),
    ("workflows", {"direction": "sideways"}),
    ("workflows", {"granularity": "week"}),
    ("workflows", {"granularity": "hour", "since": (NOW - timedelta(days=40)).isoformat()}),
    ("summary", {"since": "yesterday"}),
    ("summary", {"since": "0001-01-02T00:00:00Z", "granularity": "day"}),
    ("failures", {"workflow_id": "w" * 33}),
    ("failures", {"limit": 0}),
])
def test_bad_query_parameters_are_4xx(api, api_user, path, params):
    owner = api_user("owner@example.com")
    response = api.get(f"/api/v1/analytics/{path}", headers=owner.headers, params=params)
    assert response.status_code in (400, 422), response.text
    assert "error" in response.json()


def test_a_batch_counts_the_same_rollups_as_its_events_one_at_a_time_and_a_repeat_once(api, api_user):
    """The consumer counts a whole batch in one transaction, summed per rollup row first: the rows must be
    those of counting each event alone, and an event twice in a batch (or again later) counts once."""
    from sqlalchemy import select

    from backend.analytics.models import ExecutionRollup, FailureRollup, TeamRollup
    from backend.analytics.service import record_usage_batch

    alone, batched = api_user("alone@example.com").team_id, api_user("batched@example.com").team_id
    shapes = [("wf-a", "succeeded", "webhook", 12.0, None), ("wf-a", "failed", "webhook", 700.0, "Fetch"),
              ("wf-b", "succeeded", "trigger", None, None), (None, "failed", "manual", 3.0, None),
              ("wf-a", "failed", "webhook", 45.0, "Fetch"), ("wf-b", "succeeded", "trigger", 90_000.0, None)]

    def events(team_id: str) -> list[ExecutionUsage]:
        out = []
        for round_ in range(3):
            for workflow_id, status, mode, duration, node in shapes:
                at = (NOW - timedelta(hours=round_ * 5)).isoformat()
                facts = [{"execution_id": f"ex-{next(_ids)}", "mode": mode, "status": status, "finished_at": at,
                          "duration_ms": duration, "items": 3, "failed_node": node} for _ in range(round_ + 1)]
                out.append(ExecutionUsage(type="usage.executions", team_id=team_id, workflow_id=workflow_id,
                                          executions=facts, event_id=next(_ids)))
        return out

    with session_scope() as session:
        for event in events(alone):
            assert record_usage_batch(session, [event]) == 1
    several = events(batched)
    with session_scope() as session:
        assert record_usage_batch(session, [*several, several[0]]) == len(several)
    with session_scope() as session:
        assert record_usage_batch(session, several[:4]) == 0
    partly = api_user("partly@example.com").team_id  # a batch of which some events were counted before
    again = events(partly)
    with session_scope() as session:
        assert record_usage_batch(session, again[:5]) == 5
    with session_scope() as session:
        assert record_usage_batch(session, again) == len(again) - 5

    def rows(model, team_id: str) -> list[tuple]:
        with session_scope() as session:
            found = session.execute(select(model).where(model.team_id == team_id)).scalars().all()
            columns = [c.name for c in model.__table__.c if c.name != "team_id"]
            return sorted(tuple(getattr(row, c) for c in columns) for row in found)

    for model in (ExecutionRollup, TeamRollup, FailureRollup):
        assert rows(model, batched) == rows(model, alone) and rows(model, alone), model.__name__
        assert rows(model, partly) == rows(model, alone), model.__name__
