"""/api/v1/credentials: roles, metadata-only answers, merge on update, audit events."""

import pytest
from sqlalchemy import select
from vault_testkit import Answer

from backend.credentials import service as vault
from backend.db.session import session_scope
from backend.events.models import OutboxEvent
from backend.users.models import Role

SECRET = "s3cr3t-API-9876"
URL = "/api/v1/credentials"


class Recorder:
    """Wraps the TestClient so every answer can be checked for the secret at the end."""

    def __init__(self, api) -> None:
        self.api, self.texts = api, []

    def __call__(self, method: str, path: str, user, **kwargs):
        response = self.api.request(method, path, headers=user.headers, **kwargs)
        self.texts.append(response.text)
        return response


@pytest.fixture
def call(api):
    recorder = Recorder(api)
    yield recorder
    for text in recorder.texts:
        assert SECRET not in text, "an API answer contained the secret"


class Team:
    """team["viewer"] etc.: users of one team, made on first use (hashing passwords is slow)."""

    def __init__(self, api_user) -> None:
        self.api_user, self.made = api_user, {}

    def __getitem__(self, role: str):
        if role not in self.made:
            if role in ("owner", "outsider"):  # each owns a team of their own
                self.made[role] = self.api_user(f"{role}@example.com")
            else:
                self.made[role] = self.api_user(f"{role}@example.com", team_id=self["owner"].team_id,
                                                role=Role(role))
        return self.made[role]


@pytest.fixture
def team(api_user) -> Team:
    return Team(api_user)


def _create(call, user, name="Partner", values=None, type="api_key_header"):
    return call("POST", URL, user, json={"name": name, "type": type,
                                         "values": values or {"header_name": "X-Key", "api_key": SECRET}})


def test_types_list_each_schema_with_secret_fields_flagged(call, team):
    response = call("GET", f"{URL}/types", team["viewer"])
    assert response.status_code == 200
    by_type = {t["type"]: t for t in response.json()}
    assert by_type["stripe"]["fields_schema"]["properties"]["secret_key"]["secret"] is True
    assert by_type["stripe"]["secret_fields"] == ["secret_key"]


def test_create_answers_metadata_only(call, team):
    response = _create(call, team["admin"])
    assert response.status_code == 201
    body = response.json()
    assert set(body) == {"id", "name", "type", "created_at", "updated_at", "last_used_at", "fields_set", "readable",
                         "owner", "shared_with_team", "shared_with", "usage_count", "can_manage"}
    assert body["owner"]["id"] == team["admin"].user_id and body["shared_with_team"] is True
    assert body["usage_count"] == 0 and body["can_manage"] is True
    assert body["fields_set"] == ["api_key", "header_name"] and body["last_used_at"] is None
    listed = call("GET", URL, team["viewer"]).json()
    assert [c["name"] for c in listed] == ["Partner"]
    assert call("GET", f"{URL}/{body['id']}", team["viewer"]).json() == {**body, "can_manage": False}


def test_duplicate_names_conflict_and_bad_values_are_described_without_echoing_them(call, team):
    assert _create(call, team["owner"]).status_code == 201
    duplicate = _create(call, team["owner"])
    assert duplicate.status_code == 409 and "already has a credential named 'Partner'" in duplicate.text
    bad = _create(call, team["owner"], name="Bad", values={"header_name": "X Key", "api_key": {"x": SECRET}})
    assert bad.status_code == 400
    fields = {d["field"] for d in bad.json()["error"]["details"]}
    assert fields == {"header_name", "api_key"}
    unknown = _create(call, team["owner"], name="Odd", type="telepathy")
    assert unknown.status_code == 400 and "unknown credential type 'telepathy'" in unknown.text


def test_viewers_only_read(call, team):
    credential_id = _create(call, team["owner"]).json()["id"]
    viewer = team["viewer"]
    assert _create(call, viewer, name="Mine").status_code == 403
    assert call("PATCH", f"{URL}/{credential_id}", viewer, json={"name": "x"}).status_code == 403
    assert call("DELETE", f"{URL}/{credential_id}", viewer).status_code == 403
    assert call("POST", f"{URL}/{credential_id}/test", viewer).status_code == 403
    assert call("GET", f"{URL}/{credential_id}/oauth/authorize", viewer).status_code == 403
    assert call("PUT", f"{URL}/{credential_id}/sharing", viewer, json={"shared_with_team": False}).status_code == 403
    assert call("GET", f"{URL}/{credential_id}", viewer).status_code == 200
    assert call("GET", f"{URL}/{credential_id}/usage", viewer).status_code == 200


def test_editors_create_their_own_but_change_only_those(call, team):
    others = _create(call, team["owner"]).json()["id"]
    editor = team["editor"]
    mine = _create(call, editor, name="Mine")
    assert mine.status_code == 201 and mine.json()["owner"]["id"] == editor.user_id
    assert call("PATCH", f"{URL}/{mine.json()['id']}", editor, json={"name": "Mine 2"}).status_code == 200
    refused = call("PATCH", f"{URL}/{others}", editor, json={"name": "x"})
    assert refused.status_code == 403 and "only the owner of credential 'Partner' or a team admin" in refused.text
    assert call("DELETE", f"{URL}/{others}", editor).status_code == 403
    assert call("GET", f"{URL}/{others}/oauth/authorize", editor).status_code == 403
    assert call("GET", f"{URL}/{others}", editor).json()["can_manage"] is False
    assert call("GET", f"{URL}/{others}", team["owner"]).json()["name"] == "Partner"  # unchanged
    # The team's admins manage every credential, the editor's too.
    assert call("DELETE", f"{URL}/{mine.json()['id']}", team["admin"]).status_code == 204


def test_another_team_cannot_see_or_change_the_credential(call, team):
    credential_id = _create(call, team["owner"]).json()["id"]
    outsider = team["outsider"]
    assert call("GET", URL, outsider).json() == []
    for method, path in [("GET", ""), ("PATCH", ""), ("DELETE", ""), ("POST", "/test")]:
        response = call(method, f"{URL}/{credential_id}{path}", outsider, **({"json": {}} if method == "PATCH" else {}))
        assert response.status_code == 404, (method, path)


def test_update_merges_so_omitted_or_empty_secrets_keep_their_value(call, team):
    owner = team["owner"]
    credential_id = _create(call, owner).json()["id"]
    renamed = call("PATCH", f"{URL}/{credential_id}", owner,
                   json={"name": "Partner v2", "values": {"header_name": "X-New", "api_key": ""}})
    assert renamed.status_code == 200 and renamed.json()["name"] == "Partner v2"
    assert vault.resolve_for_node(owner.team_id, credential_id) == {"headers": {"X-New": SECRET}}
    call("PATCH", f"{URL}/{credential_id}", owner, json={"values": {"api_key": "replaced-key"}})
    assert vault.resolve_for_node(owner.team_id, credential_id) == {"headers": {"X-New": "replaced-key"}}


def test_writes_and_uses_are_audited_without_values(call, team):
    owner = team["owner"]
    credential_id = _create(call, owner).json()["id"]
    call("PATCH", f"{URL}/{credential_id}", owner, json={"values": {"api_key": "next-" + SECRET}})
    vault.resolve_for_node(owner.team_id, credential_id, node_name="Call", execution_id="e1")
    assert call("DELETE", f"{URL}/{credential_id}", owner).status_code == 204
    assert call("GET", f"{URL}/{credential_id}", owner).status_code == 404
    with session_scope() as session:
        events = [e.payload for e in session.scalars(select(OutboxEvent).where(OutboxEvent.topic == "audit.log")
                                                     .order_by(OutboxEvent.id))]
    assert [e["action"] for e in events] == ["credential.create", "credential.update", "credential.use",
                                             "credential.delete"]
    assert events[0]["actor_id"] == owner.user_id and events[1]["details"]["changed"] == ["values.api_key"]
    assert {e["object_type"] for e in events} == {"credential"}
    assert events[2]["details"]["node"] == "Call" and events[2]["details"]["execution_id"] == "e1"
    assert SECRET not in repr(events)


def test_the_test_endpoint_calls_out_and_scrubs_what_the_server_echoes(call, team, http_server, allow_loopback):
    def echoing_slack(request):
        # Imitates Slack's auth.test; this imitation echoes the token back, as a hostile server could.
        return Answer(200, {"ok": False, "error": f"bad token {request.headers['Authorization']}"})

    def partner(request):
        return Answer(200 if request.headers.get("X-Key") == SECRET else 401)

    owner = team["owner"]
    slack_server, partner_server = http_server(echoing_slack), http_server(partner)
    slack_id = _create(call, owner, name="Slack", type="slack",
                       values={"bot_token": SECRET, "api_base_url": slack_server.url}).json()["id"]
    partner_id = _create(call, owner, values={"header_name": "X-Key", "api_key": SECRET,
                                              "test_url": partner_server.url + "/me"}).json()["id"]

    assert call("POST", f"{URL}/{partner_id}/test", owner).json() == {
        "ok": True, "message": f"{partner_server.url}/me accepted the credential (200 OK)"}
    assert call("POST", f"{URL}/{slack_id}/test", owner).json() == {
        "ok": False, "message": "Slack refused the token: bad token Bearer ***"}


def test_authorize_is_only_for_oauth2_credentials(call, team):
    credential_id = _create(call, team["owner"]).json()["id"]
    response = call("GET", f"{URL}/{credential_id}/oauth/authorize", team["owner"])
    assert response.status_code == 400 and "only oauth2 credentials are authorized" in response.text


def test_the_callback_reports_a_denied_or_forged_authorization(call, team):
    denied = call("GET", f"{URL}/oauth/callback", team["viewer"], params={"error": "access_denied"})
    assert denied.status_code == 400 and "did not grant access: access_denied" in denied.text
    forged = call("GET", f"{URL}/oauth/callback", team["viewer"], params={"state": "dev.AAAA", "code": "c"})
    assert forged.status_code == 400 and "start connecting the credential again" in forged.text
