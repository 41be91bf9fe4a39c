"""Issue #11 part 6: viewers never read a Webhook node's auth secrets, execution records never hold them.

A team owner saves a workflow whose Webhook node holds a header value, a basic-auth password
and an HMAC secret, changes the HMAC secret in a second version, activates it and runs it
(a signed webhook call, a manual run). A viewer of the team then reads every endpoint that
returns a definition; no secret appears anywhere, nor in the execution rows themselves.
Editors read the secrets; saving the mask back keeps them.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time

import pytest
from sqlalchemy import select

from backend.db.session import session_scope
from backend.executions.models import Execution, ExecutionStep
from backend.users.models import Role
from backend.workflows.secrets import MASK

HEADER, PASSWORD, HMAC_V1, HMAC_V2 = "hdr-4f1c9e", "pw-9a2d77", "hmac-77c1b0", "hmac-v2-5e83aa"
SECRETS = (HEADER, PASSWORD, HMAC_V1, HMAC_V2)
URL = "/api/v1/workflows"


def definition(hmac_secret: str, greeting: str = "hi") -> dict:
    hook = {"id": "hook", "name": "Webhook", "type": "webhook", "version": 1, "position": [0, 0],
            "parameters": {"path": "signed/orders", "respond": "last_node", "auth": "hmac", "hmac_secret": hmac_secret,
                           "header_value": HEADER, "username": "ada", "password": PASSWORD}}
    greet = {"id": "set", "name": "Greet", "type": "set", "version": 1, "position": [200, 0],
             "parameters": {"fields": [{"name": "greeting", "value": greeting}]}}
    return {"nodes": [hook, greet], "connections": [{"from": "hook", "to": "set"}]}


def signed(secret: str, body: dict) -> dict:
    raw, stamp = json.dumps(body), str(int(time.time()))
    signature = hmac.new(secret.encode(), f"{stamp}.{raw}".encode(), hashlib.sha256).hexdigest()
    return {"content": raw, "headers": {"Content-Type": "application/json", "X-Timestamp": stamp,
                                        "X-Signature": signature}}


@pytest.fixture
def team(api, api_user, inline_worker):
    """(owner, viewer, workflow id, execution ids): two versions, active, run by webhook and by hand."""
    owner = api_user("owner@example.com")
    viewer = api_user("viewer@example.com", team_id=owner.team_id, role=Role.VIEWER)
    created = api.post(URL, json={"name": "Signed orders", "definition": definition(HMAC_V1)}, headers=owner.headers)
    workflow_id = created.json()["id"]
    api.patch(f"{URL}/{workflow_id}", json={"definition": definition(HMAC_V2, "hello")}, headers=owner.headers)
    assert api.post(f"{URL}/{workflow_id}/activate", headers=owner.headers).status_code == 200
    answer = api.post("/webhook/signed/orders", **signed(HMAC_V2, {"n": 1}))
    assert answer.status_code == 200 and answer.json()["greeting"] == "hello"
    manual = api.post(f"{URL}/{workflow_id}/run", json={"input": {"n": 2}}, headers=owner.headers).json()
    with session_scope() as session:
        runs = list(session.scalars(select(Execution.id)))
    assert manual["execution_id"] in runs and len(runs) == 2
    return owner, viewer, workflow_id, runs


def assert_no_secret(response) -> None:
    assert response.status_code == 200, response.text
    for secret in SECRETS:
        assert secret not in response.text, f"{response.request.url} shows {secret!r}"


def test_a_viewer_reads_no_secret_from_any_endpoint(api, team):
    _, viewer, workflow_id, runs = team
    h = viewer.headers
    workflow = api.get(f"{URL}/{workflow_id}", headers=h)
    assert_no_secret(workflow)
    parameters = workflow.json()["definition"]["nodes"][0]["parameters"]
    assert (parameters["header_value"], parameters["password"], parameters["hmac_secret"]) == (MASK, MASK, MASK)
    assert parameters["username"] == "ada"  # not a secret
    for path in (f"{URL}?limit=100", f"{URL}/{workflow_id}/versions", f"{URL}/{workflow_id}/versions/1",
                 f"{URL}/{workflow_id}/versions/2", f"{URL}/{workflow_id}/diff?from_version=1",
                 f"{URL}/{workflow_id}/diff?from_version=1&to_version=2", f"{URL}/{workflow_id}/export",
                 "/api/v1/executions?limit=100", *(f"/api/v1/executions/{run}" for run in runs)):
        assert_no_secret(api.get(path, headers=h))
    draft = api.post(f"{URL}/{workflow_id}/diff", json={"from_version": 1, "definition": {"nodes": []}}, headers=h)
    assert_no_secret(draft)
    for term in SECRETS:  # the execution search is no oracle either
        assert api.get("/api/v1/executions", params={"q": term}, headers=h).json()["total"] == 0


def test_execution_records_hold_no_secret(team):
    with session_scope() as session:
        rows = [json.dumps([e.definition, e.input, e.output, e.error], default=str)
                for e in session.scalars(select(Execution))]
        rows += [json.dumps([s.input, s.output, s.error], default=str) for s in session.scalars(select(ExecutionStep))]
    assert len(rows) > 2
    for secret in SECRETS:
        assert not any(secret in row for row in rows), secret


def test_an_editor_reads_the_secrets_and_saving_the_mask_back_keeps_them(api, team, api_user):
    owner, _, workflow_id, _ = team
    editor = api_user("editor@example.com", team_id=owner.team_id, role=Role.EDITOR)
    shown = api.get(f"{URL}/{workflow_id}", headers=editor.headers).json()
    assert shown["definition"]["nodes"][0]["parameters"]["hmac_secret"] == HMAC_V2
    as_masked = definition(MASK, "hello")
    as_masked["nodes"][0]["parameters"].update(header_value=MASK, password=MASK)
    unchanged = api.patch(f"{URL}/{workflow_id}", json={"definition": as_masked}, headers=editor.headers)
    assert unchanged.status_code == 200 and unchanged.json()["latest_version"] == 2  # nothing changed: no version
    as_masked["nodes"][1]["parameters"]["fields"][0]["value"] = "welcome"
    saved = api.patch(f"{URL}/{workflow_id}", json={"definition": as_masked}, headers=editor.headers).json()
    assert saved["latest_version"] == 3
    parameters = saved["definition"]["nodes"][0]["parameters"]
    assert (parameters["header_value"], parameters["password"], parameters["hmac_secret"]) == (HEADER, PASSWORD, HMAC_V2)
    assert api.post(f"{URL}/{workflow_id}/activate", headers=editor.headers).status_code == 200
    assert api.post("/webhook/signed/orders", **signed(HMAC_V2, {"n": 3})).json()["greeting"] == "welcome"


def test_a_mask_with_nothing_saved_to_keep_is_refused(api, team):
    owner, viewer, workflow_id, _ = team
    exported = api.get(f"{URL}/{workflow_id}/export", headers=viewer.headers).json()
    refused = api.post(f"{URL}/import", json={**exported, "name": "Copy"}, headers=owner.headers)
    assert refused.status_code == 422
    assert refused.json()["error"]["details"][0] == {
        "node": "Webhook", "message": f"header_value is masked ({MASK}) and there is no saved value to keep; "
                                      "type the secret itself"}


def test_masking_leaves_empty_secrets_and_unknown_nodes_alone():
    from backend.workflows.secrets import masked

    empty = definition("")
    empty["nodes"][0]["parameters"].update(header_value="", password="")
    assert masked(empty) is empty  # nothing to hide: viewers see that no secret is set
    unknown = {"nodes": [{"id": "x", "type": "no_such_node", "parameters": {"password": "p"}}]}
    assert masked(unknown) is unknown
    full = definition(HMAC_V1)
    assert masked(full)["nodes"][0]["parameters"]["hmac_secret"] == MASK
    assert full["nodes"][0]["parameters"]["hmac_secret"] == HMAC_V1  # a copy: the saved one is untouched
