"""Teams and the roles matrix: who may rename, invite, change roles, remove, and the last-owner rule."""

from __future__ import annotations

import pytest
from auth_testkit import audit_actions, audit_events

from backend.users.models import Role

TEAMS = "/api/v1/teams"


@pytest.fixture
def crew(signup, add_member):
    """A team run by `owner`, with an admin, an editor and a viewer."""
    people = {role: signup(f"{role.value}@example.com") for role in Role}
    owner = people[Role.OWNER]
    for role in (Role.ADMIN, Role.EDITOR, Role.VIEWER):
        add_member(owner, people[role], role)
    return people


def role_of(api, crew, user_id: str) -> str:
    owner = crew[Role.OWNER]
    members = api.get(f"{TEAMS}/{owner.team_id}/members", headers=owner.headers).json()
    return next(m["role"] for m in members if m["user_id"] == user_id)


def test_creating_a_team_makes_you_its_owner(api, signup):
    ada = signup("ada@example.com")
    created = api.post(TEAMS, json={"name": "Growth"}, headers=ada.headers)
    assert created.status_code == 201
    team_id = created.json()["id"]
    mine = api.get(TEAMS, headers=ada.headers).json()
    assert {(t["team"]["id"], t["role"]) for t in mine} == {(ada.team_id, "owner"), (team_id, "owner")}
    assert api.get(f"{TEAMS}/{team_id}", headers=ada.headers).json()["name"] == "Growth"
    assert audit_actions()[-1] == "team.create"


def test_the_default_team_is_the_oldest_membership_and_x_team_id_switches(api, signup):
    ada = signup("ada@example.com")
    growth = api.post(TEAMS, json={"name": "Growth"}, headers=ada.headers).json()["id"]
    key_default = api.post("/api/v1/api-keys", json={"name": "a"}, headers=ada.headers).json()
    key_growth = api.post("/api/v1/api-keys", json={"name": "b"}, headers=ada.in_team(growth)).json()
    assert (key_default["team_id"], key_growth["team_id"]) == (ada.team_id, growth)


def test_members_list_shows_everyone_with_their_role(api, crew):
    owner = crew[Role.OWNER]
    for person in crew.values():
        members = api.get(f"{TEAMS}/{owner.team_id}/members", headers=person.headers)
        assert members.status_code == 200, "every member may read the list"
        assert {m["email"]: m["role"] for m in members.json()} == {p.email: r.value for r, p in crew.items()}


def test_only_the_owner_renames_the_team(api, crew):
    team_id = crew[Role.OWNER].team_id
    refused = api.patch(f"{TEAMS}/{team_id}", json={"name": "X"}, headers=crew[Role.ADMIN].headers)
    assert refused.status_code == 403 and "owner role" in refused.json()["error"]["message"]
    renamed = api.patch(f"{TEAMS}/{team_id}", json={"name": "Renamed"}, headers=crew[Role.OWNER].headers)
    assert renamed.status_code == 200 and renamed.json()["name"] == "Renamed"


@pytest.mark.parametrize(("actor", "may_invite"), [
    (Role.VIEWER, False), (Role.EDITOR, False), (Role.ADMIN, True), (Role.OWNER, True)])
def test_admins_and_owners_invite(api, crew, actor, may_invite):
    team_id = crew[Role.OWNER].team_id
    response = api.post(f"{TEAMS}/{team_id}/invitations", json={"email": "new@example.com", "role": "editor"},
                        headers=crew[actor].headers)
    assert response.status_code == (201 if may_invite else 403)
    if not may_invite:
        assert "needs the admin role" in response.json()["error"]["message"]


def test_an_admin_changes_roles_but_never_grants_or_takes_owner(api, crew):
    owner, admin, editor = crew[Role.OWNER], crew[Role.ADMIN], crew[Role.EDITOR]
    url = f"{TEAMS}/{owner.team_id}/members"
    promoted = api.patch(f"{url}/{editor.user_id}", json={"role": "admin"}, headers=admin.headers)
    assert promoted.status_code == 200 and promoted.json()["role"] == "admin"
    assert api.patch(f"{url}/{editor.user_id}", json={"role": "owner"}, headers=admin.headers).status_code == 403
    assert api.patch(f"{url}/{owner.user_id}", json={"role": "viewer"}, headers=admin.headers).status_code == 403
    assert api.post(f"{TEAMS}/{owner.team_id}/invitations", json={"email": "n@example.com", "role": "owner"},
                    headers=admin.headers).status_code == 403
    assert role_of(api, crew, owner.user_id) == "owner"
    assert audit_actions()[-1] == "member.role_change"


def test_editors_and_viewers_change_no_roles(api, crew):
    owner = crew[Role.OWNER]
    for actor in (Role.EDITOR, Role.VIEWER):
        response = api.patch(f"{TEAMS}/{owner.team_id}/members/{crew[Role.VIEWER].user_id}", json={"role": "editor"},
                             headers=crew[actor].headers)
        assert response.status_code == 403


def test_the_owner_transfers_ownership_and_the_last_owner_stays(api, crew):
    owner, admin = crew[Role.OWNER], crew[Role.ADMIN]
    url = f"{TEAMS}/{owner.team_id}/members"
    last = api.patch(f"{url}/{owner.user_id}", json={"role": "admin"}, headers=owner.headers)
    assert last.status_code == 409 and "last owner" in last.json()["error"]["message"]
    assert api.delete(f"{url}/{owner.user_id}", headers=owner.headers).status_code == 409, "cannot leave either"

    assert api.patch(f"{url}/{admin.user_id}", json={"role": "owner"}, headers=owner.headers).status_code == 200
    assert api.patch(f"{url}/{owner.user_id}", json={"role": "admin"}, headers=owner.headers).status_code == 200
    assert role_of(api, crew, admin.user_id) == "owner" and role_of(api, crew, owner.user_id) == "admin"


def test_admins_remove_members_and_anyone_may_leave(api, crew):
    owner, admin, editor, viewer = (crew[r] for r in (Role.OWNER, Role.ADMIN, Role.EDITOR, Role.VIEWER))
    url = f"{TEAMS}/{owner.team_id}/members"
    assert api.delete(f"{url}/{viewer.user_id}", headers=editor.headers).status_code == 403
    assert api.delete(f"{url}/{owner.user_id}", headers=admin.headers).status_code == 403
    assert api.delete(f"{url}/{editor.user_id}", headers=admin.headers).status_code == 204
    assert api.delete(f"{url}/{viewer.user_id}", headers=viewer.in_team(owner.team_id)).status_code == 204
    remaining = {m["user_id"] for m in api.get(url, headers=owner.headers).json()}
    assert remaining == {owner.user_id, admin.user_id}
    assert api.get(f"{TEAMS}/{owner.team_id}", headers=viewer.headers).status_code == 404, "gone means gone"
    assert audit_actions()[-2:] == ["member.remove", "member.leave"]


def test_a_member_not_in_the_team_is_404(api, crew, signup):
    outsider = signup("outsider@example.com")
    owner = crew[Role.OWNER]
    response = api.patch(f"{TEAMS}/{owner.team_id}/members/{outsider.user_id}", json={"role": "admin"},
                         headers=owner.headers)
    assert response.status_code == 404


def test_every_member_change_is_in_the_audit_trail(api, signup, add_member):
    owner, carol = signup("owner@example.com"), signup("carol@example.com")
    add_member(owner, carol, Role.VIEWER)  # invitation.create, then member.join
    url = f"{TEAMS}/{owner.team_id}/members/{carol.user_id}"
    assert api.patch(url, json={"role": "editor"}, headers=owner.headers).status_code == 200
    assert api.patch(url, json={"role": "editor"}, headers=owner.headers).status_code == 200  # no change
    assert api.delete(url, headers=owner.headers).status_code == 204
    trail = [e for e in audit_events() if e["action"].startswith(("invitation.", "member."))]
    assert [e["action"] for e in trail] == ["invitation.create", "member.join", "member.role_change", "member.remove"]
    assert all(e["team_id"] == owner.team_id for e in trail)
    assert trail[0]["details"] == {"email": "carol@example.com", "role": "viewer"}
    assert trail[1]["actor_id"] == carol.user_id and trail[1]["object_id"] == carol.user_id
    assert trail[2]["actor_id"] == owner.user_id and trail[2]["details"] == {"from": "viewer", "to": "editor"}
    assert trail[3]["actor_id"] == owner.user_id and trail[3]["details"]["role"] == "editor"
