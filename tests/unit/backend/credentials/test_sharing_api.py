"""Sharing a credential within its team, who sees and uses it, which workflows use it, and workflow saves
that would use a credential the saving user may not use."""

import asyncio

import pytest
from sqlalchemy import select

from backend.credentials.runtime import credentials_resolver
from backend.db.session import session_scope
from backend.events.models import OutboxEvent
from backend.users.models import Role

URL = "/api/v1/credentials"
SECRET = "private-key-5150"


@pytest.fixture
def people(api_user):
    """A team: its owner, an admin, two editors (alice owns the private credential) and a viewer; plus an
    outsider with a team of their own."""
    owner = api_user("owner@example.com")
    made = {"owner": owner, "outsider": api_user("outsider@example.com")}
    for name, role in [("admin", Role.ADMIN), ("alice", Role.EDITOR), ("bob", Role.EDITOR), ("vera", Role.VIEWER)]:
        made[name] = api_user(f"{name}@example.com", team_id=owner.team_id, role=role)
    return made


def _call(api, method, path, user, **kwargs):
    response = api.request(method, path, headers=user.headers, **kwargs)
    assert SECRET not in response.text
    return response


def _create(api, user, name="Alice's key") -> str:
    response = _call(api, "POST", URL, user, json={"name": name, "type": "api_key_header",
                                                   "values": {"api_key": SECRET}})
    assert response.status_code == 201, response.text
    return response.json()["id"]


def _share(api, user, credential_id, shared_with_team=False, user_ids=()):
    return _call(api, "PUT", f"{URL}/{credential_id}/sharing", user,
                 json={"shared_with_team": shared_with_team, "user_ids": list(user_ids)})


def _definition(credential_id: str, node_name: str = "Call API") -> dict:
    return {"nodes": [{"id": "start", "name": "Start", "type": "manual_trigger", "parameters": {}},
                      {"id": "call", "name": node_name, "type": "http_request", "credentials": {"auth": credential_id},
                       "parameters": {"url": "https://api.example.com/", "authentication": "credential"}}],
            "connections": [{"from": "start", "to": "call"}]}


def _names(api, user) -> list[str]:
    return [c["name"] for c in _call(api, "GET", URL, user).json()]


def test_a_private_credential_is_seen_by_its_owner_shares_and_admins_only(api, people):
    credential_id = _create(api, people["alice"])
    assert _names(api, people["bob"]) == ["Alice's key"]  # shared with the team by default

    shared = _share(api, people["alice"], credential_id, user_ids=[people["vera"].user_id])
    assert shared.status_code == 200, shared.text
    body = shared.json()
    assert body["shared_with_team"] is False
    assert [u["email"] for u in body["shared_with"]] == ["vera@example.com"]
    assert body["owner"] == {"id": people["alice"].user_id, "name": "alice", "email": "alice@example.com"}

    for who in ("alice", "vera", "admin", "owner"):
        assert _names(api, people[who]) == ["Alice's key"], who
        assert _call(api, "GET", f"{URL}/{credential_id}", people[who]).status_code == 200, who
    bob = people["bob"]
    assert _names(api, bob) == []
    for method, path in [("GET", ""), ("PATCH", ""), ("DELETE", ""), ("POST", "/test"), ("GET", "/usage"),
                         ("PUT", "/sharing"), ("GET", "/oauth/authorize")]:
        body = {"json": {"shared_with_team": True}} if path == "/sharing" else ({"json": {}} if method == "PATCH" else {})
        response = _call(api, method, f"{URL}/{credential_id}{path}", bob, **body)
        assert response.status_code == 404, (method, path, response.text)
    assert _call(api, "GET", URL, people["outsider"]).json() == []

    # Sharing it with the team again makes it visible to everyone in it.
    assert _share(api, people["admin"], credential_id, shared_with_team=True).status_code == 200
    assert _names(api, bob) == ["Alice's key"]


def test_only_the_owner_or_an_admin_shares_and_only_with_members(api, people):
    credential_id = _create(api, people["alice"])
    refused = _share(api, people["bob"], credential_id)  # bob sees it (team-wide) but does not own it
    assert refused.status_code == 403 and "only the owner of credential" in refused.text
    assert _share(api, people["vera"], credential_id).status_code == 403  # viewers never share

    strangers = _share(api, people["alice"], credential_id, user_ids=[people["bob"].user_id,
                                                                      people["outsider"].user_id, "nobody"])
    assert strangers.status_code == 422
    assert "only with members of this team" in strangers.json()["error"]["message"]
    assert {d["user_id"] for d in strangers.json()["error"]["details"]} == {people["outsider"].user_id, "nobody"}
    unchanged = _call(api, "GET", f"{URL}/{credential_id}", people["alice"]).json()
    assert unchanged["shared_with_team"] is True and unchanged["shared_with"] == []

    assert _share(api, people["admin"], credential_id, user_ids=[people["bob"].user_id]).status_code == 200
    with session_scope() as session:
        shares = [e.payload for e in session.scalars(select(OutboxEvent).where(OutboxEvent.topic == "audit.log"))
                  if e.payload["action"] == "credential.share"]
    assert shares == [{"action": "credential.share", "actor_id": people["admin"].user_id,
                       "team_id": people["owner"].team_id, "object_type": "credential", "object_id": credential_id,
                       "details": {"name": "Alice's key", "type": "api_key_header", "shared_with_team": False,
                                   "user_ids": [people["bob"].user_id]}}]


def test_usage_lists_the_workflows_whose_newest_version_uses_it(api, people):
    alice = people["alice"]
    credential_id, unused_id = _create(api, alice), _create(api, alice, name="Unused")
    first = _call(api, "POST", "/api/v1/workflows", alice,
                  json={"name": "Sync orders", "definition": _definition(credential_id)}).json()
    second = _call(api, "POST", "/api/v1/workflows", alice,
                   json={"name": "Another", "definition": _definition(credential_id, "Fetch")}).json()
    _call(api, "POST", "/api/v1/workflows", alice, json={"name": "No credentials", "definition": {}})

    usage = _call(api, "GET", f"{URL}/{credential_id}/usage", people["vera"])
    assert usage.status_code == 200
    assert usage.json() == [{"id": second["id"], "name": "Another", "active": False, "nodes": ["Fetch"]},
                            {"id": first["id"], "name": "Sync orders", "active": False, "nodes": ["Call API"]}]
    counts = {c["name"]: c["usage_count"] for c in _call(api, "GET", URL, alice).json()}
    assert counts == {"Alice's key": 2, "Unused": 0}

    # A new version that uses another credential: only the newest version counts.
    _call(api, "PATCH", f"/api/v1/workflows/{second['id']}", alice, json={"definition": _definition(unused_id)})
    assert [w["name"] for w in _call(api, "GET", f"{URL}/{credential_id}/usage", alice).json()] == ["Sync orders"]
    assert _call(api, "GET", f"{URL}/{unused_id}/usage", alice).json()[0]["nodes"] == ["Call API"]
    assert _call(api, "GET", f"{URL}/{credential_id}/usage", people["outsider"]).status_code == 404


def test_a_workflow_save_using_a_credential_the_user_may_not_use_is_refused(api, people):
    alice, bob = people["alice"], people["bob"]
    credential_id = _create(api, alice)
    assert _share(api, alice, credential_id).status_code == 200  # private: alice and the admins

    refused = _call(api, "POST", "/api/v1/workflows", bob,
                    json={"name": "Exfiltrate", "definition": _definition(credential_id)})
    assert refused.status_code == 422
    error = refused.json()["error"]
    assert "node 'Call API'" in error["message"] and "you may not use credential \"Alice's key\"" in error["message"]
    assert error["details"][0]["node"] == "Call API"
    assert [w["name"] for w in _call(api, "GET", "/api/v1/workflows", bob).json()["items"]] == []

    # Bob's own workflow may not start using it either; a credential of no credential at all is refused too.
    workflow = _call(api, "POST", "/api/v1/workflows", bob, json={"name": "Mine", "definition": {}}).json()
    edit = _call(api, "PATCH", f"/api/v1/workflows/{workflow['id']}", bob,
                 json={"definition": _definition(credential_id, "Sneaky")})
    assert edit.status_code == 422 and "node 'Sneaky'" in edit.text
    missing = _call(api, "PATCH", f"/api/v1/workflows/{workflow['id']}", bob,
                    json={"definition": _definition("0" * 32)})
    assert missing.status_code == 422 and "does not exist in this team" in missing.text
    assert _call(api, "GET", f"/api/v1/workflows/{workflow['id']}", bob).json()["latest_version"] == 1

    # The owner and admins may; once shared with bob, so may he.
    assert _call(api, "POST", "/api/v1/workflows", alice,
                 json={"name": "Alice's", "definition": _definition(credential_id)}).status_code == 201
    assert _call(api, "POST", "/api/v1/workflows", people["admin"],
                 json={"name": "Admin's", "definition": _definition(credential_id)}).status_code == 201
    assert _share(api, alice, credential_id, user_ids=[bob.user_id]).status_code == 200
    assert _call(api, "PATCH", f"/api/v1/workflows/{workflow['id']}", bob,
                 json={"definition": _definition(credential_id)}).status_code == 200


def test_another_teams_credential_cannot_be_put_in_a_workflow(api, people):
    foreign = _create(api, people["outsider"], name="Outsider's")
    refused = _call(api, "POST", "/api/v1/workflows", people["owner"],
                    json={"name": "Borrow", "definition": _definition(foreign)})
    assert refused.status_code == 422 and "does not exist in this team" in refused.text


def test_a_run_records_one_use_per_credential_not_one_per_item(api, people):
    alice = people["alice"]
    credential_id = _create(api, alice)

    async def run_uses(execution_id: str, times: int) -> None:
        resolve = credentials_resolver(alice.team_id, execution_id)
        for _ in range(times):
            assert await resolve(credential_id, "Call API") == {"headers": {"X-API-Key": SECRET}}

    asyncio.run(run_uses("exec-1", 5))
    asyncio.run(run_uses("exec-2", 2))
    with session_scope() as session:
        uses = [e.payload["details"]["execution_id"] for e in session.scalars(
            select(OutboxEvent).where(OutboxEvent.topic == "audit.log").order_by(OutboxEvent.id))
            if e.payload["action"] == "credential.use"]
    assert uses == ["exec-1", "exec-2"]
    assert _call(api, "GET", f"{URL}/{credential_id}", alice).json()["last_used_at"] is not None


def test_a_member_who_leaves_the_team_is_no_longer_listed_as_shared_with(api, people):
    alice, vera = people["alice"], people["vera"]
    credential_id = _create(api, alice)
    assert _share(api, alice, credential_id, user_ids=[vera.user_id]).status_code == 200
    team_id = people["owner"].team_id
    assert _call(api, "DELETE", f"/api/v1/teams/{team_id}/members/{vera.user_id}", people["owner"]).status_code == 204
    assert _call(api, "GET", f"{URL}/{credential_id}", alice).json()["shared_with"] == []
    assert _call(api, "GET", f"{URL}/{credential_id}", vera).status_code == 403  # not in the team any more


def test_removing_a_member_drops_their_shares_so_rejoining_gives_nothing_back(api, people):
    alice, vera, owner = people["alice"], people["vera"], people["owner"]
    credential_id = _create(api, alice)
    assert _share(api, alice, credential_id, user_ids=[vera.user_id]).status_code == 200
    kept = _create(api, owner, name="Owner's key")
    assert _share(api, owner, kept, user_ids=[people["bob"].user_id]).status_code == 200
    team_id = owner.team_id
    assert _call(api, "DELETE", f"/api/v1/teams/{team_id}/members/{vera.user_id}", owner).status_code == 204
    from backend.credentials.models import CredentialShare

    with session_scope() as session:
        shares = {(s.credential_id, s.user_id) for s in session.scalars(select(CredentialShare))}
    assert shares == {(kept, people["bob"].user_id)}  # only the removed member's shares in this team went
