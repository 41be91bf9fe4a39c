"""GET /api/v1/executions/stats: per-hour counts by status, duration percentiles, top failures."""

from __future__ import annotations

from datetime import timedelta

from executions_testkit import add_execution, seed_day

from backend.db.base import utcnow
from backend.users.models import Role

URL = "/api/v1/executions/stats"


def stats(api, user, **params) -> dict:
    response = api.get(URL, params=params, headers=user.headers)
    assert response.status_code == 200, response.text
    return response.json()


def test_hours_are_zero_filled_with_counts_and_percentiles(api, api_user):
    owner = api_user("owner@example.com")
    base = utcnow().replace(minute=0, second=0, microsecond=0) - timedelta(hours=6)
    orders, billing = seed_day(owner.team_id, base)
    add_execution(owner.team_id, created_at=base - timedelta(minutes=1))  # just before the range
    add_execution(owner.team_id, status="cancelled", created_at=base + timedelta(minutes=4),
                  duration_ms=99_000)  # counted, but its duration says nothing about the workflow
    stranger = api_user("stranger@example.com")
    add_execution(stranger.team_id, status="failed", created_at=base + timedelta(minutes=5), failed_node="Fetch")

    body = stats(api, owner, since=base.isoformat(), until=(base + timedelta(hours=4)).isoformat())
    hours = body["hours"]
    assert [h["hour"][:13] for h in hours] == [(base + timedelta(hours=i)).isoformat()[:13] for i in range(4)]
    assert [h["total"] for h in hours] == [5, 0, 3, 1]
    assert hours[0]["counts"] == {"queued": 0, "running": 0, "waiting": 0, "succeeded": 3, "failed": 1,
                                  "cancelled": 1}
    assert hours[2]["counts"]["failed"] == 3 and hours[3]["counts"]["queued"] == 1
    assert (hours[0]["p50_ms"], hours[0]["p95_ms"]) == (200, 1000)
    assert (hours[2]["p50_ms"], hours[2]["p95_ms"]) == (500, 600)
    assert hours[1]["p50_ms"] is None and hours[3]["p95_ms"] is None
    assert body["duration"] == {"p50_ms": 400, "p95_ms": 1000, "count": 7}
    assert body["totals"]["failed"] == 4 and body["totals"]["succeeded"] == 3
    assert body["top_failing_workflows"] == [{"workflow_id": orders, "name": "Orders", "count": 3},
                                             {"workflow_id": billing, "name": "Billing", "count": 1}]
    assert body["top_failing_nodes"] == [
        {"workflow_id": orders, "workflow_name": "Orders", "node_name": "Fetch", "count": 3},
        {"workflow_id": billing, "workflow_name": "Billing", "node_name": "Parse", "count": 1}]


def test_one_workflow_and_an_unaligned_range(api, api_user):
    owner = api_user("owner@example.com")
    base = utcnow().replace(minute=0, second=0, microsecond=0) - timedelta(hours=6)
    _, billing = seed_day(owner.team_id, base)
    body = stats(api, owner, since=(base + timedelta(minutes=30)).isoformat(),
                 until=(base + timedelta(hours=3, minutes=30)).isoformat(), workflow_id=billing)
    assert len(body["hours"]) == 4  # 00:30 .. 03:30 touches four clock hours
    assert [h["total"] for h in body["hours"]] == [0, 0, 1, 1]
    assert [w["name"] for w in body["top_failing_workflows"]] == ["Billing"]
    assert body["duration"]["count"] == 1 and body["duration"]["p50_ms"] == 600
    later = stats(api, owner, since=(base + timedelta(minutes=30)).isoformat(),
                  until=(base + timedelta(hours=1)).isoformat())
    assert later["hours"][0]["counts"]["failed"] == 1 and later["hours"][0]["counts"]["succeeded"] == 0


def test_default_range_is_the_last_day(api, api_user):
    owner = api_user("owner@example.com")
    add_execution(owner.team_id, created_at=utcnow() - timedelta(minutes=5))
    add_execution(owner.team_id, created_at=utcnow() - timedelta(days=2))
    body = stats(api, owner)
    assert len(body["hours"]) in (24, 25) and body["totals"]["succeeded"] == 1
    assert body["hours"][-1]["total"] + body["hours"][-2]["total"] == 1


def test_ranges_that_are_backwards_or_too_long_are_refused(api, api_user):
    owner = api_user("owner@example.com")
    now = utcnow()
    for since, until in ((now, now - timedelta(hours=1)), (now, now), (now - timedelta(days=32), now)):
        response = api.get(URL, params={"since": since.isoformat(), "until": until.isoformat()},
                           headers=owner.headers)
        assert response.status_code == 422, response.text
        assert response.json()["error"]["code"] == "invalid_range"
    assert "31 days" in response.json()["error"]["message"]
    month = stats(api, owner, since=(now - timedelta(days=31)).isoformat(), until=now.isoformat())
    assert len(month["hours"]) in (744, 745)
    assert api.get(URL, params={"since": "yesterday"}, headers=owner.headers).status_code == 422


def test_a_viewer_reads_stats_and_nobody_reads_another_teams(api, api_user):
    owner = api_user("owner@example.com")
    add_execution(owner.team_id, status="failed", created_at=utcnow() - timedelta(minutes=3), failed_node="X")
    viewer = api_user("viewer@example.com", team_id=owner.team_id, role=Role.VIEWER)
    assert stats(api, viewer)["totals"]["failed"] == 1
    assert stats(api, api_user("other@example.com"))["totals"]["failed"] == 0
    assert api.get(URL).status_code == 401
