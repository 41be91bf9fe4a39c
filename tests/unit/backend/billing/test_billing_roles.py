"""Who may see and change billing: owners change it, admins see it, editors and viewers get 403;
another team's billing is out of reach; instance admins see every team and edit plans."""

from __future__ import annotations

from billing_testkit import subscription_of
from sqlalchemy import select

from backend.billing.models import Plan
from backend.db.session import session_scope
from backend.events.models import OutboxEvent
from backend.users.models import Role, User

READS = [("GET", "/api/v1/billing"), ("GET", "/api/v1/billing/plans"), ("GET", "/api/v1/billing/invoices")]
CHANGES = [("POST", "/api/v1/billing/checkout", {"plan_id": "pro"}), ("POST", "/api/v1/billing/portal", None)]


def call(api, method: str, path: str, headers: dict, body: dict | None = None):
    return api.request(method, path, json=body, headers=headers)


def test_editors_and_viewers_get_403_everywhere_and_admins_only_read(api, owner, api_user):
    for role in (Role.VIEWER, Role.EDITOR):
        member = api_user(f"{role.value}@example.com", team_id=owner.team_id, role=role)
        for method, path in READS:
            response = call(api, method, path, member.headers)
            assert response.status_code == 403, (role, path)
            assert "admin role or higher" in response.json()["error"]["message"]
        for method, path, body in CHANGES:
            assert call(api, method, path, member.headers, body).status_code == 403, (role, path)
    admin = api_user("admin@example.com", team_id=owner.team_id, role=Role.ADMIN)
    summary = call(api, "GET", "/api/v1/billing", admin.headers)
    assert summary.status_code == 200 and summary.json()["can_manage"] is False
    assert call(api, "GET", "/api/v1/billing/plans", admin.headers).status_code == 200
    for method, path, body in CHANGES:
        response = call(api, method, path, admin.headers, body)
        assert response.status_code == 403 and "owner role" in response.json()["error"]["message"]
    assert call(api, "GET", "/api/v1/billing", owner.headers).json()["can_manage"] is True


def test_another_teams_billing_and_checkout_are_out_of_reach(api, owner, api_user):
    attacker = api_user("attacker@example.com")
    foreign = {**attacker.headers, "X-Team-Id": owner.team_id}
    for method, path in READS:
        assert call(api, method, path, foreign).status_code == 403
    for method, path, body in CHANGES:
        assert call(api, method, path, foreign, body).status_code == 403
    smuggled = call(api, "POST", "/api/v1/billing/checkout", attacker.headers,
                    {"plan_id": "pro", "team_id": owner.team_id})
    assert smuggled.status_code == 422, "no body names a team"
    assert subscription_of(owner.team_id) is None, "nothing was created for the victim's team"


def test_instance_admins_see_every_team_and_edit_plans_audited(api, owner, api_user):
    other = api_user("other@example.com")
    staff = api_user("staff@example.com")
    with session_scope() as session:
        session.get(User, staff.user_id).is_admin = True
    assert api.get("/api/v1/admin/billing/teams", headers=owner.headers).status_code == 403
    assert api.patch("/api/v1/admin/billing/plans/pro", json={"members_limit": 1}, headers=owner.headers
                     ).status_code == 403
    teams = api.get("/api/v1/admin/billing/teams", headers=staff.headers).json()
    assert teams["total"] == 3
    row = next(t for t in teams["items"] if t["team_id"] == other.team_id)
    assert row["plan_id"] == "free" and row["usage"]["members"] == {"used": 1, "limit": 3, "cap": None}
    edited = api.patch("/api/v1/admin/billing/plans/pro", headers=staff.headers, json={
        "executions_limit": 20_000, "overage_limit": None, "stripe_price_monthly": "price_123"})
    assert edited.status_code == 200, edited.text
    assert (edited.json()["executions_limit"], edited.json()["overage_limit"]) == (20_000, None)
    with session_scope() as session:
        assert session.get(Plan, "pro").stripe_price_monthly == "price_123"
        audit = [e.payload for e in session.scalars(select(OutboxEvent).where(OutboxEvent.topic == "audit.log"))
                 if e.payload["action"] == "admin.plan_update"]
    assert audit[0]["team_id"] is None and audit[0]["details"]["executions_limit"] == {"from": 10_000, "to": 20_000}
    assert api.patch("/api/v1/admin/billing/plans/pro", json={"name": None}, headers=staff.headers).status_code == 400
    assert api.patch("/api/v1/admin/billing/plans/nope", json={"name": "X"}, headers=staff.headers).status_code == 404
    all_plans = api.get("/api/v1/admin/billing/plans", headers=staff.headers).json()
    assert [p["id"] for p in all_plans] == ["free", "pro", "business"]
