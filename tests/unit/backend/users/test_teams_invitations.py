"""Invitations: mailed single-use links for one email address, valid 7 days."""

from __future__ import annotations

from datetime import timedelta

from auth_testkit import audit_actions, invite, link_token, mails
from sqlalchemy import select

from backend.db.session import session_scope
from backend.users.models import Invitation, Role

TEAMS = "/api/v1/teams"
ACCEPT = f"{TEAMS}/invitations/accept"


def test_an_invitation_is_mailed_and_accepting_it_joins_with_its_role(api, signup):
    owner = signup("owner@example.com")
    response = api.post(f"{TEAMS}/{owner.team_id}/invitations", json={"email": "Carol@Example.com", "role": "admin"},
                        headers=owner.headers)
    assert response.status_code == 201
    body = response.json()
    assert body["email"] == "carol@example.com" and body["role"] == "admin" and "token" not in body
    [mail] = mails("carol@example.com")
    assert "/invite?token=" in mail["body"]
    token = link_token(mail, "/invite")
    with session_scope() as session:
        stored = session.scalar(select(Invitation))
        assert stored.token_hash != token
        assert abs(stored.expires_at - stored.created_at - timedelta(days=7)) < timedelta(seconds=5)

    carol = signup("carol@example.com")
    accepted = api.post(ACCEPT, json={"token": token}, headers=carol.headers)
    assert accepted.status_code == 200
    assert accepted.json()["team"]["id"] == owner.team_id and accepted.json()["role"] == "admin"
    members = api.get(f"{TEAMS}/{owner.team_id}/members", headers=carol.headers).json()
    assert {m["email"]: m["role"] for m in members}["carol@example.com"] == "admin"
    assert api.post(ACCEPT, json={"token": token}, headers=carol.headers).status_code == 400, "single use"
    assert "member.join" in audit_actions() and "invitation.create" in audit_actions()
    assert api.get(f"{TEAMS}/{owner.team_id}/invitations", headers=owner.headers).json() == []


def test_an_expired_invitation_is_refused(api, signup):
    owner, carol = signup("owner@example.com"), signup("carol@example.com")
    token = invite(api, owner, carol.email, Role.EDITOR)
    with session_scope() as session:
        stored = session.scalar(select(Invitation))
        stored.expires_at = stored.created_at
    response = api.post(ACCEPT, json={"token": token}, headers=carol.headers)
    assert response.status_code == 400 and "expired" in response.json()["error"]["message"]


def test_inviting_again_replaces_the_old_link(api, signup):
    owner, carol = signup("owner@example.com"), signup("carol@example.com")
    old = invite(api, owner, carol.email, Role.EDITOR)
    new = invite(api, owner, carol.email, Role.VIEWER)
    assert api.post(ACCEPT, json={"token": old}, headers=carol.headers).status_code == 400
    assert api.post(ACCEPT, json={"token": new}, headers=carol.headers).json()["role"] == "viewer"


def test_inviting_a_member_is_a_conflict(api, signup, add_member):
    owner, carol = signup("owner@example.com"), signup("carol@example.com")
    add_member(owner, carol, Role.EDITOR)
    response = api.post(f"{TEAMS}/{owner.team_id}/invitations", json={"email": carol.email, "role": "viewer"},
                        headers=owner.headers)
    assert response.status_code == 409


def test_a_cancelled_invitation_no_longer_works(api, signup):
    owner, carol = signup("owner@example.com"), signup("carol@example.com")
    token = invite(api, owner, carol.email, Role.EDITOR)
    [pending] = api.get(f"{TEAMS}/{owner.team_id}/invitations", headers=owner.headers).json()
    assert api.delete(f"{TEAMS}/{owner.team_id}/invitations/{pending['id']}", headers=owner.headers).status_code == 204
    assert api.post(ACCEPT, json={"token": token}, headers=carol.headers).status_code == 400


def test_without_smtp_the_inviter_gets_the_link_once(api, signup):
    owner = signup("owner@example.com")
    response = api.post(f"{TEAMS}/{owner.team_id}/invitations", json={"email": "carol@example.com", "role": "viewer"},
                        headers=owner.headers)
    url = response.json()["invite_url"]
    assert url.endswith(f"/invite?token={link_token(mails('carol@example.com')[-1], '/invite')}")
    listed = api.get(f"{TEAMS}/{owner.team_id}/invitations", headers=owner.headers).json()
    assert all("invite_url" not in i and "token" not in i for i in listed), "shown once, at creation"
    carol = signup("carol@example.com")
    token = url.split("token=", 1)[1]
    assert api.post(ACCEPT, json={"token": token}, headers=carol.headers).json()["role"] == "viewer"
