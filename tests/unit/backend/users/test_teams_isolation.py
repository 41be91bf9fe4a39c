"""Team isolation: a member of team A learns nothing about team B and changes nothing in it,
even with B's real ids in hand."""

from __future__ import annotations

import pytest
from auth_testkit import invite

from backend.users.models import Role

TEAMS = "/api/v1/teams"


@pytest.fixture
def two_teams(api, signup, add_member):
    alice, bob, bobs_editor = signup("alice@example.com"), signup("bob@example.com"), signup("ed@example.com")
    add_member(bob, bobs_editor, Role.EDITOR)
    key = api.post("/api/v1/api-keys", json={"name": "bob-ci"}, headers=bob.headers).json()
    invite(api, bob, "pending@example.com", Role.VIEWER)
    invitation_id = api.get(f"{TEAMS}/{bob.team_id}/invitations", headers=bob.headers).json()[0]["id"]
    return alice, bob, bobs_editor, key, invitation_id


def test_reading_another_teams_objects_answers_like_a_missing_team(api, two_teams):
    alice, bob, _, _, _ = two_teams
    missing = api.get(f"{TEAMS}/{'0' * 32}", headers=alice.headers)
    for path in ("", "/members", "/invitations"):
        response = api.get(f"{TEAMS}/{bob.team_id}{path}", headers=alice.headers)
        assert response.status_code == 404, path
        assert bob.email not in response.text and "bob" not in response.text.lower().replace(bob.team_id, "")
    assert missing.status_code == 404
    assert missing.json()["error"]["message"].replace("0" * 32, "ID") == \
        api.get(f"{TEAMS}/{bob.team_id}", headers=alice.headers).json()["error"]["message"].replace(bob.team_id, "ID")


def test_changing_another_teams_members_and_invitations_is_404_and_changes_nothing(api, two_teams):
    alice, bob, editor, _, invitation_id = two_teams
    attempts = [
        api.patch(f"{TEAMS}/{bob.team_id}", json={"name": "pwned"}, headers=alice.headers),
        api.patch(f"{TEAMS}/{bob.team_id}/members/{editor.user_id}", json={"role": "viewer"}, headers=alice.headers),
        api.delete(f"{TEAMS}/{bob.team_id}/members/{editor.user_id}", headers=alice.headers),
        api.post(f"{TEAMS}/{bob.team_id}/invitations", json={"email": "alice@example.com", "role": "owner"},
                 headers=alice.headers),
        api.delete(f"{TEAMS}/{bob.team_id}/invitations/{invitation_id}", headers=alice.headers),
        # Alice's own team id in the path does not reach Bob's objects either.
        api.patch(f"{TEAMS}/{alice.team_id}/members/{editor.user_id}", json={"role": "viewer"}, headers=alice.headers),
        api.delete(f"{TEAMS}/{alice.team_id}/invitations/{invitation_id}", headers=alice.headers),
    ]
    assert [r.status_code for r in attempts] == [404] * len(attempts)
    members = api.get(f"{TEAMS}/{bob.team_id}/members", headers=bob.headers).json()
    assert {m["user_id"]: m["role"] for m in members} == {bob.user_id: "owner", editor.user_id: "editor"}
    assert api.get(f"{TEAMS}/{bob.team_id}", headers=bob.headers).json()["name"] != "pwned"
    assert len(api.get(f"{TEAMS}/{bob.team_id}/invitations", headers=bob.headers).json()) == 1


def test_another_teams_api_keys_are_invisible_and_cannot_be_revoked(api, two_teams):
    alice, bob, _, key, _ = two_teams
    assert api.get("/api/v1/api-keys", headers=alice.headers).json() == []
    assert api.delete(f"/api/v1/api-keys/{key['id']}", headers=alice.headers).status_code == 404
    assert api.get("/api/v1/api-keys", headers={"X-API-Key": key["key"]}).status_code == 200, "still alive"


def test_acting_in_another_team_by_header_is_403_whether_or_not_it_exists(api, two_teams):
    alice, bob, _, _, _ = two_teams
    real = api.get("/api/v1/api-keys", headers=alice.in_team(bob.team_id))
    made_up = api.get("/api/v1/api-keys", headers=alice.in_team("f" * 32))
    assert real.status_code == made_up.status_code == 403
    assert real.json()["error"]["message"].replace(bob.team_id, "ID") == \
        made_up.json()["error"]["message"].replace("f" * 32, "ID")


def test_an_invitation_for_someone_else_cannot_be_accepted(api, signup, two_teams):
    alice, bob, _, _, _ = two_teams
    token = invite(api, bob, "carol@example.com", Role.ADMIN)
    response = api.post(f"{TEAMS}/invitations/accept", json={"token": token}, headers=alice.headers)
    assert response.status_code == 403
    assert api.get(f"{TEAMS}/{bob.team_id}", headers=alice.headers).status_code == 404
