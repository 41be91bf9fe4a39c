"""GET /api/v1/audit and /audit/export.csv: team admins read and export their team's trail, filtered."""

from __future__ import annotations

import asyncio
import csv
import io
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from backend.audit.models import AuditLog
from backend.audit.service import record_event
from backend.db.session import session_scope
from backend.users.models import Role
from executors.relay import start_event_pipeline

T0 = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
AUDIT = "/api/v1/audit"


@pytest.fixture
def team(api_user):
    """An owner with a trail of four entries in their team, one in another team."""
    owner = api_user("owner@example.com")
    other = api_user("other@example.com")
    entries = [(owner.team_id, "workflow.create", owner.user_id, "workflow", "wf-1", 0),
               (owner.team_id, "workflow.activate", owner.user_id, "workflow", "wf-1", 1),
               (owner.team_id, "credential.create", None, "credential", "c-1", 2),
               (owner.team_id, "member.role_change", owner.user_id, "user", "u-2", 3),
               (other.team_id, "workflow.create", other.user_id, "workflow", "wf-9", 4)]
    with session_scope() as session:
        for event_id, (team_id, action, actor, kind, object_id, minutes) in enumerate(entries, 1):
            record_event(session, {"event_id": event_id, "team_id": team_id, "action": action, "actor_id": actor,
                                   "object_type": kind, "object_id": object_id, "details": {"n": minutes},
                                   "occurred_at": (T0 + timedelta(minutes=minutes)).isoformat()})
    return owner


def actions(response) -> list[str]:
    assert response.status_code == 200, response.text
    return [item["action"] for item in response.json()["items"]]


def test_an_admin_pages_through_the_team_trail_newest_first_with_the_total(api, team):
    page = api.get(AUDIT, params={"limit": 2}, headers=team.headers).json()
    assert [i["action"] for i in page["items"]] == ["member.role_change", "credential.create"]
    assert page["total"] == 4 and page["limit"] == 2 and page["offset"] == 0
    first = page["items"][0]
    assert first["actor_email"] == "owner@example.com" and first["target_type"] == "user"
    assert first["target_id"] == "u-2" and first["details"] == {"n": 3}
    second = api.get(AUDIT, params={"limit": 2, "offset": 2}, headers=team.headers)
    assert actions(second) == ["workflow.activate", "workflow.create"]


def test_filters_by_action_family_actor_target_and_time(api, team):
    get = lambda **params: api.get(AUDIT, params=params, headers=team.headers)  # noqa: E731
    assert actions(get(action="workflow.activate")) == ["workflow.activate"]
    assert actions(get(action="workflow.*")) == ["workflow.activate", "workflow.create"]
    assert actions(get(actor="owner@example.com", target_type="workflow")) == ["workflow.activate",
                                                                             "workflow.create"]
    assert actions(get(actor=team.user_id, target_id="u-2")) == ["member.role_change"]
    window = get(since=(T0 + timedelta(minutes=1)).isoformat(), until="2026-11-01T12:03:00")  # naive is UTC
    assert actions(window) == ["credential.create", "workflow.activate"]
    assert get(action="workflow.*").json()["total"] == 2


def test_bad_filters_are_a_clear_4xx(api, team):
    backwards = api.get(AUDIT, params={"since": "2026-11-02T00:00:00Z", "until": "2026-11-01T00:00:00Z"},
                        headers=team.headers)
    assert backwards.status_code == 400 and "must be before until" in backwards.json()["error"]["message"]
    nobody = api.get(AUDIT, params={"actor": "nobody@example.com"}, headers=team.headers)
    assert nobody.status_code == 200 and nobody.json()["total"] == 0  # whether the account exists stays hidden
    assert api.get(AUDIT, params={"limit": 501}, headers=team.headers).status_code == 422
    assert api.get(AUDIT, params={"since": "yesterday"}, headers=team.headers).status_code == 422


def test_the_actions_menu_lists_the_team_actions_only(api, team):
    body = api.get(f"{AUDIT}/actions", headers=team.headers).json()
    assert body == {"actions": ["credential.create", "member.role_change", "workflow.activate", "workflow.create"]}


def test_export_streams_the_filtered_rows_as_a_csv_attachment(api, team):
    response = api.get(f"{AUDIT}/export.csv", params={"action": "workflow.*"}, headers=team.headers)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert response.headers["content-disposition"].startswith('attachment; filename="linkflow-audit-')
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert [(r["action"], r["object_id"], r["actor_id"]) for r in rows] == [
        ("workflow.activate", "wf-1", team.user_id), ("workflow.create", "wf-1", team.user_id)]


@pytest.mark.parametrize("role", [Role.EDITOR, Role.VIEWER])
def test_editors_and_viewers_get_403(api, api_user, team, role):
    member = api_user(f"{role.value}@example.com", team_id=team.team_id, role=role)
    for path in (AUDIT, f"{AUDIT}/export.csv", f"{AUDIT}/actions"):
        response = api.get(path, headers=member.headers)
        assert response.status_code == 403, path
        assert "admin role" in response.json()["error"]["message"]


def test_a_team_admin_reads_it_but_not_another_team(api, api_user, team):
    admin = api_user("admin@example.com", team_id=team.team_id, role=Role.ADMIN)
    assert api.get(AUDIT, headers=admin.headers).json()["total"] == 4
    outsider = api_user("outsider@example.com")
    assert api.get(AUDIT, headers={**outsider.headers, "X-Team-Id": team.team_id}).status_code == 403
    assert actions(api.get(AUDIT, headers=outsider.headers)) == []


async def wait_for_actions(expected: set[str], timeout_s: float = 10) -> list[AuditLog]:
    for _ in range(int(timeout_s / 0.05)):
        with session_scope() as session:
            rows = list(session.scalars(select(AuditLog).order_by(AuditLog.id)))
        if expected <= {row.action for row in rows}:
            return rows
        await asyncio.sleep(0.05)
    raise AssertionError(f"audit rows {[r.action for r in rows]}, expected {expected}")


async def test_sign_ins_and_workflow_changes_reach_the_trail_through_the_embedded_pipeline(api):
    signup = api.post("/api/v1/auth/signup", json={"email": "ada@example.com", "password": "long enough pw"}).json()
    token = signup["access_token"]
    headers = {"Authorization": f"Bearer {token}"}
    assert api.post("/api/v1/auth/login", json={"email": "ada@example.com", "password": "wrong one!"}).status_code == 401
    assert api.post("/api/v1/auth/login", json={"email": "nobody@example.com", "password": "whatever1"}).status_code == 401
    login = api.post("/api/v1/auth/login", json={"email": "ada@example.com", "password": "long enough pw"}).json()
    workflow = api.post("/api/v1/workflows", json={"name": "Audited"}, headers=headers).json()
    assert api.patch(f"/api/v1/workflows/{workflow['id']}", json={"name": "Renamed"}, headers=headers).is_success
    assert api.delete(f"/api/v1/workflows/{workflow['id']}", headers=headers).status_code == 204
    assert api.post("/api/v1/auth/logout", json={"refresh_token": login["refresh_token"]}).status_code == 204
    pipeline = await start_event_pipeline()
    try:
        await wait_for_actions({"auth.logout", "workflow.delete"})
    finally:
        await pipeline.stop()
    page = api.get(AUDIT, params={"limit": 100}, headers=headers).json()
    trail = [(i["action"], i["target_id"]) for i in reversed(page["items"])]
    assert trail == [("user.signup", signup["user"]["id"]), ("auth.login_failed", signup["user"]["id"]),
                     ("auth.login", signup["user"]["id"]), ("workflow.create", workflow["id"]),
                     ("workflow.update", workflow["id"]), ("workflow.delete", workflow["id"]),
                     ("auth.logout", signup["user"]["id"])]
    failed = next(i for i in page["items"] if i["action"] == "auth.login_failed")
    assert failed["details"]["reason"] == "wrong_password" and failed["actor_id"] is None
    assert failed["ip"] == "testclient"
    with session_scope() as session:  # the unknown email is kept, outside every team's trail
        stray = session.scalars(select(AuditLog).where(AuditLog.team_id.is_(None))).all()
    assert [(r.action, r.details["email"]) for r in stray] == [("auth.login_failed", "nobody@example.com")]
