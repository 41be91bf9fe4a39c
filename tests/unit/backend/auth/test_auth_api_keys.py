"""API keys: shown once, authenticate scripts, bound to their team, follow their creator's role."""

from __future__ import annotations

from datetime import timedelta

from auth_testkit import audit_actions
from sqlalchemy import select

from backend.auth.models import ApiKey
from backend.db.session import session_scope
from backend.users.models import Role

KEYS = "/api/v1/api-keys"


def create_key(api, headers, name: str = "ci"):
    return api.post(KEYS, json={"name": name}, headers=headers)


def test_a_key_is_shown_once_stored_hashed_and_authenticates_both_ways(api, signup):
    owner = signup("owner@example.com")
    created = create_key(api, owner.headers)
    assert created.status_code == 201
    body = created.json()
    secret = body["key"]
    assert secret.startswith("lf_") and body["prefix"] == secret[3:11] and body["team_id"] == owner.team_id

    listed = api.get(KEYS, headers=owner.headers).json()
    assert [k["id"] for k in listed] == [body["id"]] and "key" not in listed[0]
    with session_scope() as session:
        stored = session.scalar(select(ApiKey).where(ApiKey.id == body["id"]))
        assert secret not in (stored.key_hash, stored.prefix) and len(stored.key_hash) == 64

    for headers in ({"Authorization": f"Bearer {secret}"}, {"X-API-Key": secret}):
        me = api.get("/api/v1/auth/me", headers=headers)
        assert me.status_code == 200 and me.json()["user"]["id"] == owner.user_id
    with session_scope() as session:
        assert session.get(ApiKey, body["id"]).last_used_at is not None
    assert audit_actions()[-1] == "api_key.create"


def test_a_revoked_key_stops_working(api, signup):
    owner = signup("owner@example.com")
    key = create_key(api, owner.headers).json()
    assert api.delete(f"{KEYS}/{key['id']}", headers=owner.headers).status_code == 204
    response = api.get(KEYS, headers={"X-API-Key": key["key"]})
    assert response.status_code == 401 and response.headers["WWW-Authenticate"] == "Bearer"
    assert api.get(KEYS, headers=owner.headers).json() == []
    assert audit_actions()[-1] == "api_key.revoke"
    assert api.delete(f"{KEYS}/{key['id']}", headers=owner.headers).status_code == 404


def test_a_made_up_key_is_401(api):
    response = api.get(KEYS, headers={"X-API-Key": "lf_" + "x" * 43})
    assert response.status_code == 401
    assert response.json()["error"]["message"] == "the API key is invalid, revoked or expired"


def test_viewers_list_keys_but_only_editors_and_up_create_them(api, signup, add_member):
    owner, viewer, editor = signup("owner@example.com"), signup("viewer@example.com"), signup("ed@example.com")
    add_member(owner, viewer, Role.VIEWER)
    add_member(owner, editor, Role.EDITOR)
    refused = create_key(api, viewer.in_team(owner.team_id))
    assert refused.status_code == 403
    assert "needs the editor role" in refused.json()["error"]["message"]
    assert api.get(KEYS, headers=viewer.in_team(owner.team_id)).status_code == 200
    assert create_key(api, editor.in_team(owner.team_id)).status_code == 201


def test_a_key_acts_with_its_creators_current_role(api, signup, add_member):
    owner, editor = signup("owner@example.com"), signup("ed@example.com")
    add_member(owner, editor, Role.EDITOR)
    key = create_key(api, editor.in_team(owner.team_id)).json()["key"]
    assert create_key(api, {"X-API-Key": key}).status_code == 201

    demoted = api.patch(f"/api/v1/teams/{owner.team_id}/members/{editor.user_id}", json={"role": "viewer"},
                        headers=owner.headers)
    assert demoted.status_code == 200
    assert create_key(api, {"X-API-Key": key}).status_code == 403, "the demotion reaches the key"


def test_a_key_is_bound_to_its_team(api, signup, add_member):
    owner, editor = signup("owner@example.com"), signup("ed@example.com")
    add_member(owner, editor, Role.EDITOR)
    key = create_key(api, editor.in_team(owner.team_id)).json()
    listed = api.get(KEYS, headers={"X-API-Key": key["key"]}).json()
    assert key["id"] in [k["id"] for k in listed], "the key acts in the owner's team, not its creator's own"
    elsewhere = api.get(KEYS, headers={"X-API-Key": key["key"], "X-Team-Id": editor.team_id})
    assert elsewhere.status_code == 403
    teams = api.get("/api/v1/teams", headers={"X-API-Key": key["key"]}).json()
    assert [t["team"]["id"] for t in teams] == [owner.team_id]


def test_a_removed_members_keys_stop_working(api, signup, add_member):
    owner, editor = signup("owner@example.com"), signup("ed@example.com")
    add_member(owner, editor, Role.EDITOR)
    key = create_key(api, editor.in_team(owner.team_id)).json()["key"]
    removed = api.delete(f"/api/v1/teams/{owner.team_id}/members/{editor.user_id}", headers=owner.headers)
    assert removed.status_code == 204
    assert api.get(KEYS, headers={"X-API-Key": key}).status_code == 401


def test_only_the_creator_or_an_admin_revokes_a_key(api, signup, add_member):
    owner, ed1, ed2 = signup("owner@example.com"), signup("ed1@example.com"), signup("ed2@example.com")
    add_member(owner, ed1, Role.EDITOR)
    add_member(owner, ed2, Role.EDITOR)
    key_id = create_key(api, ed1.in_team(owner.team_id)).json()["id"]
    refused = api.delete(f"{KEYS}/{key_id}", headers=ed2.in_team(owner.team_id))
    assert refused.status_code == 403 and "admin" in refused.json()["error"]["message"]
    assert api.delete(f"{KEYS}/{key_id}", headers=owner.headers).status_code == 204


def test_an_expiring_key_stops_after_its_date(api, signup):
    owner = signup("owner@example.com")
    key = api.post(KEYS, json={"name": "tmp", "expires_in_days": 1}, headers=owner.headers).json()
    assert api.get(KEYS, headers={"X-API-Key": key["key"]}).status_code == 200
    with session_scope() as session:
        row = session.get(ApiKey, key["id"])
        row.expires_at = row.created_at
    assert api.get(KEYS, headers={"X-API-Key": key["key"]}).status_code == 401


def test_last_used_at_is_written_at_most_once_a_minute(api, signup):
    owner = signup("owner@example.com")
    key = create_key(api, owner.headers).json()

    def last_used():
        with session_scope() as session:
            return session.get(ApiKey, key["id"]).last_used_at

    api.get(KEYS, headers={"X-API-Key": key["key"]})
    first = last_used()
    api.get(KEYS, headers={"X-API-Key": key["key"]})
    assert last_used() == first, "a second use within the minute writes nothing"
    with session_scope() as session:
        session.get(ApiKey, key["id"]).last_used_at = first - timedelta(minutes=2)
    api.get(KEYS, headers={"X-API-Key": key["key"]})
    assert last_used() > first
