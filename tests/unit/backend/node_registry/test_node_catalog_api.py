"""/api/v1/nodes: the catalog the editor builds its palette and forms from."""

from __future__ import annotations

from backend.users.models import Role
from nodes.sdk import default_registry

URL = "/api/v1/nodes"


def test_the_catalog_lists_every_installed_node_with_its_form_and_ports(api, api_user):
    viewer = api_user("viewer@example.com", team_id=api_user("owner@example.com").team_id, role=Role.VIEWER)
    body = api.get(URL, headers=viewer.headers).json()
    types = {(n["type"], n["version"]) for n in body["items"]}
    assert types == {(cls.type, cls.version) for cls in default_registry().all()}
    http = next(n for n in body["items"] if n["type"] == "http_request")
    assert http["parameters_schema"]["properties"]["url"]["type"] == "string"
    assert "url" in http["parameters_schema"]["required"]
    assert http["inputs"] == ["main"] and http["credential_slots"] and http["trigger"] is None
    webhook = next(n for n in body["items"] if n["type"] == "webhook")
    assert webhook["trigger"] == "webhook" and webhook["group"] == "trigger"
    groups = {g["group"]: g["types"] for g in body["groups"]}
    assert "webhook" in groups["trigger"] and "http_request" in groups["integration"]


def test_one_node_type_latest_and_by_version(api, api_user):
    owner = api_user("owner@example.com")
    latest = api.get(f"{URL}/set", headers=owner.headers).json()
    assert latest["type"] == "set" and latest["latest"] is True
    pinned = api.get(f"{URL}/set/{latest['version']}", headers=owner.headers).json()
    assert pinned["parameters_schema"] == latest["parameters_schema"]
    missing = api.get(f"{URL}/no_such_node", headers=owner.headers)
    assert missing.status_code == 404 and "no_such_node" in missing.json()["error"]["message"]
    assert api.get(f"{URL}/set/99", headers=owner.headers).status_code == 404


def test_the_catalog_needs_a_signed_in_caller(api):
    assert api.get(URL).status_code == 401
