"""/api/v1/admin: only instance admins; users, teams, queue depth, workers, failures, health."""

from __future__ import annotations

from datetime import timedelta

import pytest

from backend.auth.tokens import issue_access_token
from backend.db.base import utcnow
from backend.db.session import session_scope
from backend.events.models import OutboxEvent
from backend.executions import heartbeats
from backend.executions.models import Execution
from backend.users.models import Role, User
from backend.users.service import create_user
from backend.workflows.models import Workflow

ADMIN = "/api/v1/admin"
PATHS = ("users", "teams", "queue", "workers", "errors", "health", "audit")


@pytest.fixture
def root(api):
    """An instance admin (as `linkflow user create --admin` makes one)."""
    with session_scope() as session:
        user, team = create_user(session, email="root@example.com", password="long enough", is_admin=True)
        user_id, team_id = user.id, team.id
    token, _ = issue_access_token(user_id)
    return type("Root", (), {"user_id": user_id, "team_id": team_id,
                             "headers": {"Authorization": f"Bearer {token}"}})


def test_everyone_but_instance_admins_gets_403_even_team_owners(api, api_user, root):
    owner = api_user("owner@example.com")
    for path in PATHS:
        response = api.get(f"{ADMIN}/{path}", headers=owner.headers)
        assert response.status_code == 403, path
        assert "only instance admins" in response.json()["error"]["message"]
        assert api.get(f"{ADMIN}/{path}").status_code == 401
    assert api.patch(f"{ADMIN}/users/{owner.user_id}", json={"is_admin": True},
                     headers=owner.headers).status_code == 403
    key = api.post("/api/v1/api-keys", json={"name": "ci"}, headers=root.headers).json()["key"]
    assert api.get(f"{ADMIN}/users", headers={"X-API-Key": key}).status_code == 403


def test_users_are_listed_searched_and_counted(api, api_user, root):
    member = api_user("grace@example.com")
    api_user("alan@example.com", team_id=member.team_id, role=Role.EDITOR)
    body = api.get(f"{ADMIN}/users", headers=root.headers).json()
    assert body["total"] == 3
    assert [(u["email"], u["is_admin"], u["teams"]) for u in body["items"]] == [
        ("root@example.com", True, 1), ("grace@example.com", False, 1), ("alan@example.com", False, 2)]
    found = api.get(f"{ADMIN}/users", params={"search": "GRA", "limit": 1}, headers=root.headers).json()
    assert found["total"] == 1 and found["items"][0]["email"] == "grace@example.com"
    assert "password_hash" not in found["items"][0]
    assert api.get(f"{ADMIN}/users", params={"search": "%"}, headers=root.headers).json()["total"] == 0


def test_deactivating_signs_the_user_out_and_reactivating_lets_them_back(api, api_user, root):
    user = api_user("grace@example.com")
    response = api.patch(f"{ADMIN}/users/{user.user_id}", json={"is_active": False}, headers=root.headers)
    assert response.status_code == 200 and response.json()["is_active"] is False
    assert api.get("/api/v1/users/me", headers=user.headers).status_code == 401
    api.patch(f"{ADMIN}/users/{user.user_id}", json={"is_active": True}, headers=root.headers)
    assert api.get("/api/v1/users/me", headers=user.headers).status_code == 200
    assert api.patch(f"{ADMIN}/users/nope", json={"is_active": False}, headers=root.headers).status_code == 404
    assert api.patch(f"{ADMIN}/users/{user.user_id}", json={}, headers=root.headers).status_code == 400


def test_the_last_admin_is_never_removed(api, api_user, root):
    demote_self = api.patch(f"{ADMIN}/users/{root.user_id}", json={"is_admin": False}, headers=root.headers)
    assert demote_self.status_code == 409 and "last active instance admin" in demote_self.json()["error"]["message"]
    deactivate_self = api.patch(f"{ADMIN}/users/{root.user_id}", json={"is_active": False}, headers=root.headers)
    assert deactivate_self.status_code == 409
    other = api_user("grace@example.com")
    granted = api.patch(f"{ADMIN}/users/{other.user_id}", json={"is_admin": True}, headers=root.headers)
    assert granted.json()["is_admin"] is True
    assert api.get(f"{ADMIN}/users", headers=other.headers).status_code == 200  # an admin now
    # Two admins: one may step down; then the other is the last one again.
    assert api.patch(f"{ADMIN}/users/{root.user_id}", json={"is_admin": False},
                     headers=root.headers).status_code == 200
    assert api.patch(f"{ADMIN}/users/{other.user_id}", json={"is_admin": False},
                     headers=other.headers).status_code == 409
    with session_scope() as session:
        assert [u.email for u in session.query(User).filter(User.is_admin.is_(True))] == ["grace@example.com"]


def test_teams_come_with_member_workflow_and_execution_counts(api, api_user, root):
    owner = api_user("grace@example.com")
    api_user("alan@example.com", team_id=owner.team_id, role=Role.VIEWER)
    with session_scope() as session:
        session.add_all([Workflow(team_id=owner.team_id, name="a", active=True),
                         Workflow(team_id=owner.team_id, name="b")])
        session.add_all([Execution(team_id=owner.team_id, status="succeeded") for _ in range(3)])
    body = api.get(f"{ADMIN}/teams", params={"search": "grace"}, headers=root.headers).json()
    assert body["total"] == 1
    [team] = body["items"]
    assert (team["id"], team["members"], team["workflows"], team["active_workflows"], team["executions"]) == \
        (owner.team_id, 2, 2, 1, 3)
    assert api.get(f"{ADMIN}/teams", headers=root.headers).json()["total"] == 3


def test_queue_counts_pending_executions_overall_and_by_mode(api, api_user, root):
    team = api_user("grace@example.com").team_id
    with session_scope() as session:
        for status, mode in [("queued", "manual"), ("queued", "webhook"), ("running", "webhook"),
                             ("waiting", "schedule"), ("succeeded", "manual"), ("failed", "manual")]:
            session.add(Execution(team_id=team, status=status, mode=mode))
    body = api.get(f"{ADMIN}/queue", headers=root.headers).json()
    assert body["queue_backend"] == "memory" and body["redis"] is None
    assert body["executions"]["overall"] == {"queued": 2, "running": 1, "waiting": 1}
    assert body["executions"]["webhook"] == {"queued": 1, "running": 1, "waiting": 0}
    assert body["executions"]["manual"] == {"queued": 1, "running": 0, "waiting": 0}


def test_workers_show_alive_only_when_seen_recently(api, root):
    now = utcnow()
    with session_scope() as session:
        heartbeats.beat(session, "host-a:11:worker", role="worker", details={"threads": 4}, started_at=now)
        heartbeats.beat(session, "host-b:12:scheduler", role="scheduler", details={}, started_at=now,
                        now=now - timedelta(minutes=2))
    body = api.get(f"{ADMIN}/workers", headers=root.headers).json()
    assert body["alive"] == 1 and body["alive_within_seconds"] == 30
    assert [(w["id"], w["alive"], w["hostname"], w["pid"]) for w in body["items"]] == [
        ("host-a:11:worker", True, "host-a", 11), ("host-b:12:scheduler", False, "host-b", 12)]
    assert body["items"][0]["details"] == {"threads": 4}


def test_errors_list_failures_across_teams_and_the_stuck_outbox(api, api_user, root):
    a, b = api_user("grace@example.com"), api_user("alan@example.com")
    now = utcnow()
    with session_scope() as session:
        flow = Workflow(team_id=a.team_id, name="Nightly sync")
        session.add(flow)
        session.flush()
        session.add_all([
            Execution(team_id=a.team_id, workflow_id=flow.id, status="failed", finished_at=now - timedelta(hours=1),
                      error={"node": "HTTP Request", "message": "502 Bad Gateway"}),
            Execution(team_id=b.team_id, status="failed", finished_at=now, error={"node": None, "message": "timeout"}),
            Execution(team_id=b.team_id, status="succeeded", finished_at=now)])
        session.add(OutboxEvent(topic="audit.log", key="k", payload={}, attempts=3, last_error="broker down"))
        session.add(OutboxEvent(topic="audit.log", key="k", payload={}))
    body = api.get(f"{ADMIN}/errors", headers=root.headers).json()
    assert [(e["team_name"], e["workflow_name"], e["node"], e["message"]) for e in body["executions"]] == [
        ("alan's team", None, None, "timeout"), ("grace's team", "Nightly sync", "HTTP Request", "502 Bad Gateway")]
    outbox = body["outbox"]
    assert outbox["unpublished"] >= 2 and outbox["failing"] == 1
    assert outbox["last_errors"][0]["error"] == "broker down"


async def test_errors_count_the_events_consumers_gave_up_on(api, root):
    import asyncio

    from backend.audit.consumers import CONSUMER
    from backend.events.bus import Event, InMemoryBus
    from backend.events.consumers import RetryPolicy, deliver

    before = api.get(f"{ADMIN}/errors", headers=root.headers).json()["dead_letters"]
    assert before["backend"] == "memory" and before["topic"] == "dlq.events"
    poison = Event("audit.log", "team-1", {"team_id": "team-1"})  # no action: the audit consumer refuses it
    await deliver(InMemoryBus(), CONSUMER, poison, asyncio.Event(), RetryPolicy(attempts=1))
    after = api.get(f"{ADMIN}/errors", headers=root.headers).json()["dead_letters"]
    assert after["messages"] == before["messages"] + 1
    assert after["by_service"]["audit"] == before["by_service"].get("audit", 0) + 1


def test_health_runs_the_ready_checks(api, root):
    body = api.get(f"{ADMIN}/health", headers=root.headers).json()
    assert body["status"] == "ok" and body["checks"] == {"database": "ok"}
    assert body["code_sandbox"]["mode"] == "bwrap"  # configured; the test app runs no Code nodes itself


def test_the_instance_trail_has_every_team_and_the_team_less_entries(api, api_user, root):
    from backend.audit.service import record_event

    team = api_user("grace@example.com").team_id
    with session_scope() as session:
        record_event(session, {"event_id": 1, "action": "workflow.create", "team_id": team, "object_id": "wf-1"})
        record_event(session, {"event_id": 2, "action": "admin.user_deactivate", "actor_id": root.user_id,
                               "object_type": "user", "object_id": "u-9"})
        record_event(session, {"event_id": 3, "action": "auth.login_failed", "details": {"email": "x@example.com"}})
    body = api.get(f"{ADMIN}/audit", headers=root.headers).json()
    assert body["total"] == 3
    assert {(i["action"], i["team_id"]) for i in body["items"]} == {
        ("workflow.create", team), ("admin.user_deactivate", None), ("auth.login_failed", None)}
    mine = api.get(f"{ADMIN}/audit", params={"actor": "root@example.com"}, headers=root.headers).json()
    assert [(i["action"], i["actor_email"]) for i in mine["items"]] == [("admin.user_deactivate", "root@example.com")]
    assert api.get(f"{ADMIN}/audit", params={"action": "auth.*"}, headers=root.headers).json()["total"] == 1


def test_admin_actions_are_audited(api, api_user, root):
    from auth_testkit import audit_actions

    user = api_user("grace@example.com")
    api.patch(f"{ADMIN}/users/{user.user_id}", json={"is_admin": True}, headers=root.headers)
    api.patch(f"{ADMIN}/users/{user.user_id}", json={"is_active": False, "is_admin": False}, headers=root.headers)
    assert audit_actions()[-3:] == ["admin.grant_admin", "admin.user_deactivate", "admin.revoke_admin"]
