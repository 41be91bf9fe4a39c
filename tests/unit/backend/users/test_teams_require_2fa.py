"""A team that requires two-factor sign-in: who may turn it on, and how a member without it is
confined to enrolling (every call in the team is 403) while API keys and OAuth sign-ins pass."""

from __future__ import annotations

import pytest
from auth_testkit import audit_events, enable_two_factor

from backend.auth import tokens, totp
from backend.db.session import session_scope
from backend.users.models import Role, User

TEAMS = "/api/v1/teams"


@pytest.fixture(autouse=True)
def otp_clock(monkeypatch):
    monkeypatch.setattr(totp, "clock", lambda: 1_800_000_000.0)


@pytest.fixture
def team(api, signup, add_member):
    """An owner with two-factor sign-in, an admin and an editor without it, and the editor's API key."""
    owner, admin, editor = signup("owner@example.com"), signup("admin@example.com"), signup("editor@example.com")
    add_member(owner, admin, Role.ADMIN)
    add_member(owner, editor, Role.EDITOR)
    key = api.post("/api/v1/api-keys", json={"name": "nightly"}, headers=editor.in_team(owner.team_id)).json()["key"]
    enable_two_factor(api, owner)
    return owner, admin, editor, key


def require(api, account, team_id: str, on: bool = True):
    return api.put(f"{TEAMS}/{team_id}/security", json={"require_2fa": on}, headers=account.in_team(team_id))


def test_only_admins_with_two_factor_themselves_may_require_it(api, team):
    owner, admin, editor, _ = team
    refused = require(api, editor, owner.team_id)
    assert refused.status_code == 403 and "admin role" in refused.json()["error"]["message"]
    lockout = require(api, admin, owner.team_id)
    assert lockout.status_code == 409 and "your own account first" in lockout.json()["error"]["message"]
    done = require(api, owner, owner.team_id)
    assert done.status_code == 200 and done.json()["require_2fa"] is True
    [change] = [e for e in audit_events() if e["action"] == "team.update"]
    assert change["details"] == {"require_2fa": {"from": False, "to": True}} and change["actor_id"] == owner.user_id


def test_a_member_without_two_factor_is_confined_to_enrolling(api, team):
    owner, _, editor, _ = team
    require(api, owner, owner.team_id)
    for path in ("/workflows", "/credentials", "/api-keys", f"/teams/{owner.team_id}/members"):
        refused = api.get(f"/api/v1{path}", headers=editor.in_team(owner.team_id))
        assert refused.status_code == 403, path
        assert refused.json()["error"]["code"] == "two_factor_required"
        assert "requires two-factor sign-in; enable it in Settings → Security" in refused.json()["error"]["message"]
    me = api.get("/api/v1/auth/me", headers=editor.headers).json()
    blocked = {m["team"]["id"]: m["blocked_by_2fa"] for m in me["memberships"]}
    assert blocked == {editor.team_id: False, owner.team_id: True} and me["two_factor_enabled"] is False
    assert api.get("/api/v1/workflows", headers=editor.in_team(editor.team_id)).status_code == 200, \
        "their other teams are not affected"
    assert api.get("/api/v1/workflows", headers=owner.in_team(owner.team_id)).status_code == 200

    enable_two_factor(api, editor)  # the enrolment endpoints stay open to them
    assert api.get("/api/v1/workflows", headers=editor.in_team(owner.team_id)).status_code == 200
    me = api.get("/api/v1/auth/me", headers=editor.headers).json()
    assert all(not m["blocked_by_2fa"] for m in me["memberships"]) and me["two_factor_enabled"] is True


def test_api_keys_and_oauth_sign_ins_are_not_confined(api, team):
    owner, _, editor, key = team
    require(api, owner, owner.team_id)
    assert api.get("/api/v1/workflows", headers={"X-API-Key": key}).status_code == 200
    with session_scope() as session:
        pair = tokens.issue_pair(session, editor.user_id, method="oauth")
    oauth = {"Authorization": f"Bearer {pair.access_token}", "X-Team-Id": owner.team_id}
    assert api.get("/api/v1/workflows", headers=oauth).status_code == 200
    refreshed = api.post("/api/v1/auth/refresh", json={"refresh_token": pair.refresh_token}).json()
    assert api.get("/api/v1/workflows", headers={"Authorization": f"Bearer {refreshed['access_token']}",
                                                 "X-Team-Id": owner.team_id}).status_code == 200, \
        "a refreshed OAuth sign-in is still one"


def test_an_admin_reset_confines_the_member_again(api, team):
    owner, _, editor, _ = team
    enable_two_factor(api, editor)
    require(api, owner, owner.team_id)
    with session_scope() as session:
        session.get(User, owner.user_id).is_admin = True
    assert api.delete(f"/api/v1/admin/users/{editor.user_id}/2fa", headers=owner.headers).status_code == 204
    assert api.get("/api/v1/workflows", headers=editor.in_team(owner.team_id)).status_code == 403


def test_turning_the_requirement_off_frees_the_members(api, team):
    owner, _, editor, _ = team
    require(api, owner, owner.team_id)
    assert require(api, owner, owner.team_id, on=False).json()["require_2fa"] is False
    assert api.get("/api/v1/workflows", headers=editor.in_team(owner.team_id)).status_code == 200
