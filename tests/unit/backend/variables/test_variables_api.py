"""/api/v1/variables: keys, duplicates, masked secrets sealed at rest, $vars in runs, roles."""

from __future__ import annotations

from sqlalchemy import select

from backend.db.session import session_scope
from backend.users.models import Role
from backend.variables.models import Variable

URL = "/api/v1/variables"


def create(api, user, key: str, value: str, secret: bool = False) -> dict:
    response = api.post(URL, json={"key": key, "value": value, "is_secret": secret}, headers=user.headers)
    assert response.status_code == 201, response.text
    return response.json()


def stored_value(variable_id: str) -> str:
    with session_scope() as session:
        return session.scalar(select(Variable.value).where(Variable.id == variable_id))


def test_create_list_update_delete(api, api_user):
    owner = api_user("owner@example.com")
    created = create(api, owner, "region", "eu-west")
    assert created["value"] == "eu-west" and created["is_secret"] is False
    updated = api.patch(f"{URL}/{created['id']}", json={"value": "us-east", "key": "REGION"}, headers=owner.headers)
    assert updated.json()["key"] == "REGION" and updated.json()["value"] == "us-east"
    assert [v["key"] for v in api.get(URL, headers=owner.headers).json()["items"]] == ["REGION"]
    assert api.delete(f"{URL}/{created['id']}", headers=owner.headers).status_code == 204
    assert api.get(URL, headers=owner.headers).json() == {"items": [], "total": 0}


def test_keys_must_be_identifiers_and_unique_in_the_team(api, api_user):
    owner = api_user("owner@example.com")
    for bad in ("1abc", "has-dash", "with space", "", "x" * 65):
        response = api.post(URL, json={"key": bad, "value": "v"}, headers=owner.headers)
        assert response.status_code == 422, bad
    create(api, owner, "_ok_1", "v")
    duplicate = api.post(URL, json={"key": "_ok_1", "value": "w"}, headers=owner.headers)
    assert duplicate.status_code == 409 and "_ok_1" in duplicate.json()["error"]["message"]
    other = create(api, owner, "other", "v")
    renamed = api.patch(f"{URL}/{other['id']}", json={"key": "_ok_1"}, headers=owner.headers)
    assert renamed.status_code == 409
    create(api, api_user("else@example.com"), "_ok_1", "another team may use the same key")


def test_a_secret_is_masked_sealed_at_rest_and_real_in_runs(api, api_user, inline_worker):
    owner = api_user("owner@example.com")
    secret = create(api, owner, "API_TOKEN", "s3cr3t-value", secret=True)
    create(api, owner, "GREETING", "hello")
    assert secret["value"] == "********"
    listed = {v["key"]: v["value"] for v in api.get(URL, headers=owner.headers).json()["items"]}
    assert listed == {"API_TOKEN": "********", "GREETING": "hello"}
    assert api.get(f"{URL}/{secret['id']}", headers=owner.headers).json()["value"] == "********"
    assert "s3cr3t" not in stored_value(secret["id"])
    definition = {"nodes": [
        {"id": "t", "name": "Start", "type": "manual_trigger"},
        {"id": "s", "name": "Use", "type": "set", "position": [1, 0], "parameters": {"fields": [
            {"name": "token", "value": "{{ $vars.API_TOKEN }}"}, {"name": "hi", "value": "{{ $vars.GREETING }}"}]}},
    ], "connections": [{"from": "t", "to": "s"}]}
    workflow = api.post("/api/v1/workflows", json={"name": "vars", "definition": definition},
                        headers=owner.headers).json()
    run = api.post(f"/api/v1/workflows/{workflow['id']}/run", json={}, headers=owner.headers).json()
    execution = api.get(f"/api/v1/executions/{run['execution_id']}", headers=owner.headers).json()
    assert execution["output"] == [{"json": {"token": "s3cr3t-value", "hi": "hello"}}]


def test_a_secret_becomes_plain_only_with_a_new_value(api, api_user):
    owner = api_user("owner@example.com")
    secret = create(api, owner, "TOKEN", "hidden", secret=True)
    url = f"{URL}/{secret['id']}"
    refused = api.patch(url, json={"is_secret": False}, headers=owner.headers)
    assert refused.status_code == 400 and "never revealed" in refused.json()["error"]["message"]
    renamed = api.patch(url, json={"key": "TOKEN2"}, headers=owner.headers).json()
    assert renamed["value"] == "********" and "hidden" not in stored_value(secret["id"])
    plain = api.patch(url, json={"is_secret": False, "value": "visible"}, headers=owner.headers).json()
    assert plain["value"] == "visible" and stored_value(secret["id"]) == "visible"
    resealed = api.patch(url, json={"is_secret": True}, headers=owner.headers).json()
    assert resealed["value"] == "********" and stored_value(secret["id"]) != "visible"


def test_teams_are_isolated_and_viewers_only_read(api, api_user):
    owner = api_user("owner@example.com")
    variable = create(api, owner, "K", "v")
    url = f"{URL}/{variable['id']}"
    stranger = api_user("stranger@example.com").headers
    assert api.get(URL, headers=stranger).json()["total"] == 0
    for method, body in (("get", None), ("patch", {"value": "x"}), ("delete", None)):
        assert api.request(method, url, json=body, headers=stranger).status_code == 404
    viewer = api_user("viewer@example.com", team_id=owner.team_id, role=Role.VIEWER).headers
    assert api.get(url, headers=viewer).json()["value"] == "v"
    for method, path, body in (("post", URL, {"key": "N", "value": "x"}), ("patch", url, {"value": "x"}),
                               ("delete", url, None)):
        assert api.request(method, path, json=body, headers=viewer).status_code == 403
