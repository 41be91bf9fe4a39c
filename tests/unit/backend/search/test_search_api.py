"""/api/v1/search on the embedded SQL backend: workflows, executions and credential names of the caller's
team only; no secret ever in an answer; bad input refused with a clear 4xx."""

from __future__ import annotations

import json

from backend.users.models import Role

URL = "/api/v1/search"


def definition() -> dict:
    return {"nodes": [{"id": "t", "name": "Start", "type": "manual_trigger", "version": 1, "position": [0, 0]}],
            "connections": []}


def workflow(api, user, name: str, **extra) -> str:
    response = api.post("/api/v1/workflows", json={"name": name, "definition": definition(), **extra},
                        headers=user.headers)
    assert response.status_code == 201, response.text
    return response.json()["id"]


def search(api, user, q: str, **params) -> dict:
    response = api.get(URL, params={"q": q, **params}, headers=user.headers)
    assert response.status_code == 200, response.text
    return response.json()


def test_finds_workflows_executions_and_credential_names_of_the_team(api, api_user, inline_worker):
    alice = api_user("alice@example.com")
    wf = workflow(api, alice, "Invoice sync", description="pulls the ledger")
    run = api.post(f"/api/v1/workflows/{wf}/run", json={"input": [{"customer": "okapi-77"}]}, headers=alice.headers)
    execution = run.json()["execution_id"]
    created = api.post("/api/v1/credentials", json={"name": "Invoice portal", "type": "http_basic",
                                                    "values": {"username": "ops", "password": "hunter2-secret"}},
                       headers=alice.headers)
    assert created.status_code == 201, created.text

    answer = search(api, alice, "invoice")
    assert answer["backend"] == "sql"
    assert [(r["type"], r["title"], r["url"]) for r in answer["results"]] == [
        ("workflow", "Invoice sync", f"/workflows/{wf}"),
        ("credential", "Invoice portal", f"/credentials#{created.json()['id']}")]
    assert answer["totals"] == {"workflow": 1, "execution": 0, "credential": 1}
    assert "hunter2" not in json.dumps(answer) and "ops" not in json.dumps(answer["results"][1])
    hits = search(api, alice, "okapi-77", types="executions")["results"]
    assert [(r["type"], r["id"], r["url"], r["status"]) for r in hits] == [
        ("execution", execution, f"/executions/{execution}", "succeeded")]
    assert search(api, alice, "ledger", types="workflow")["results"][0]["id"] == wf


def test_another_team_sees_nothing(api, api_user, inline_worker):
    alice, mallory = api_user("alice@example.com"), api_user("mallory@example.com")
    wf = workflow(api, alice, "Payroll export")
    execution = api.post(f"/api/v1/workflows/{wf}/run", json={"input": [{"k": "zz-secret-run"}]},
                         headers=alice.headers).json()["execution_id"]
    for q in ("payroll", "zz-secret-run", wf, execution, "%", "_", "' OR 1=1 --"):
        assert search(api, mallory, q)["results"] == [], q
    # acting in Alice's team needs a membership there
    forged = {**mallory.headers, "X-Team-Id": alice.team_id}
    assert api.get(URL, params={"q": "payroll"}, headers=forged).status_code in (403, 404)


def test_credentials_a_member_may_not_see_stay_hidden(api, api_user):
    owner = api_user("owner@example.com")
    member = api_user("member@example.com", team_id=owner.team_id, role=Role.EDITOR)
    created = api.post("/api/v1/credentials", json={"name": "Private vault key", "type": "http_basic",
                                                    "values": {"username": "u", "password": "p"}},
                       headers=member.headers).json()
    shared = api.put(f"/api/v1/credentials/{created['id']}/sharing", json={"shared_with_team": False},
                     headers=member.headers)
    assert shared.status_code == 200, shared.text
    viewer = api_user("viewer@example.com", team_id=owner.team_id, role=Role.VIEWER)
    assert [r["title"] for r in search(api, member, "vault", types="credential")["results"]] == ["Private vault key"]
    assert search(api, viewer, "vault", types="credential")["results"] == []


def test_bad_input_is_refused_clearly(api, api_user):
    alice = api_user("alice@example.com")
    bad_type = api.get(URL, params={"q": "x", "types": "workflow,password"}, headers=alice.headers)
    assert bad_type.status_code == 400
    assert "'password'" in bad_type.json()["error"]["message"] and "workflow, execution, credential" in \
        bad_type.json()["error"]["message"]
    assert api.get(URL, params={"q": ""}, headers=alice.headers).status_code == 422
    assert api.get(URL, params={"q": "x" * 201}, headers=alice.headers).status_code == 422
    assert api.get(URL, params={"q": "  "}, headers=alice.headers).status_code == 400
    assert api.get(URL, params={"q": "x", "limit": 51}, headers=alice.headers).status_code == 422
    assert api.get(URL, params={"q": "x", "types": "a," * 60}, headers=alice.headers).status_code == 422
    assert api.get(URL, params={"q": "x"}).status_code == 401
