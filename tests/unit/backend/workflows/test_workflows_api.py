"""/api/v1/workflows: validation, versions, diff, restore, copies, files, activation, runs, roles."""

from __future__ import annotations

import copy

from sqlalchemy import select

from backend.db.session import session_scope
from backend.events.models import OutboxEvent
from backend.users.models import Role

URL = "/api/v1/workflows"


def set_node(node_id: str, name: str, field: str, value, x: float) -> dict:
    return {"id": node_id, "name": name, "type": "set", "version": 1, "position": [x, 0],
            "parameters": {"fields": [{"name": field, "value": value}]}}


def definition(double: str = "{{ $json.n * 2 }}") -> dict:
    return {
        "nodes": [
            {"id": "t", "name": "Start", "type": "manual_trigger", "version": 1, "position": [0, 0]},
            set_node("a", "Double", "doubled", double, 1),
        ],
        "connections": [{"from": "t", "to": "a"}],
    }


def create(api, user, name: str = "Orders", **extra) -> dict:
    response = api.post(URL, json={"name": name, "definition": definition(), **extra}, headers=user.headers)
    assert response.status_code == 201, response.text
    return response.json()


def outbox(topic: str) -> list[dict]:
    with session_scope() as session:
        return list(session.scalars(select(OutboxEvent.payload).where(OutboxEvent.topic == topic)
                                    .order_by(OutboxEvent.id)))


def test_create_then_get_returns_version_1_with_its_definition(api, api_user):
    owner = api_user("owner@example.com")
    created = create(api, owner, tags=["sales", "sales", "eu"], description="nightly sync")
    fetched = api.get(f"{URL}/{created['id']}", headers=owner.headers).json()
    assert fetched["versions"] == [1] and fetched["latest_version"] == 1
    assert fetched["definition"]["nodes"][1]["parameters"]["fields"][0]["name"] == "doubled"
    assert fetched["tags"] == ["sales", "eu"] and fetched["active"] is False
    assert outbox("audit.log")[-1] == {
        "action": "workflow.create", "actor_id": owner.user_id, "team_id": owner.team_id,
        "object_type": "workflow", "object_id": created["id"], "details": {"name": "Orders", "version": 1}}


def test_an_invalid_definition_is_refused_with_every_problem(api, api_user):
    owner = api_user("owner@example.com")
    broken = {"nodes": [
        {"id": "a", "name": "A", "type": "no_such_node"},
        {"id": "b", "name": "B", "type": "http_request", "parameters": {}},
        {"id": "c", "name": "C", "type": "set", "settings": {"retrys": 3}},
    ], "connections": [{"from": "a", "to": "ghost"}]}
    response = api.post(URL, json={"name": "Broken", "definition": broken}, headers=owner.headers)
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "invalid_workflow"
    problems = sorted((p["node"], p["message"]) for p in error["details"])
    assert [node for node, _ in problems] == ["A", "A", "C"]  # B's missing url alone would save as a draft
    assert "ghost" in problems[0][1] and "no_such_node" in problems[1][1]
    assert "retrys" in problems[2][1]
    assert api.get(URL, headers=owner.headers).json()["total"] == 0


def test_a_draft_saves_with_warnings_on_its_nodes_and_activation_names_them(api, api_user):
    owner = api_user("owner@example.com")
    draft = definition("{{ $json.n * }}")  # an expression syntax error
    draft["nodes"][0] = {"id": "t", "name": "Hook", "type": "webhook", "version": 1, "parameters": {"path": "d/1"}}
    draft["nodes"].append({"id": "h", "name": "Fetch", "type": "http_request", "position": [2, 0], "parameters": {}})
    draft["connections"].append({"from": "a", "to": "h"})
    saved = api.post(URL, json={"name": "Draft", "definition": draft}, headers=owner.headers)
    assert saved.status_code == 201, saved.text
    warnings = {(w["node"], w["message"]) for w in saved.json()["warnings"]}
    assert warnings == {("Fetch", "parameter 'url' is required"),
                        ("Double", "parameters.fields[0].value: invalid expression '$json.n *': invalid syntax")}
    workflow_id = saved.json()["id"]
    assert api.get(f"{URL}/{workflow_id}", headers=owner.headers).json()["warnings"] == saved.json()["warnings"]

    refused = api.post(f"{URL}/{workflow_id}/activate", headers=owner.headers)
    assert refused.status_code == 422
    error = refused.json()["error"]
    assert error["message"] == ("cannot activate: 2 problem(s) on 'Fetch', 'Double' (first, on 'Fetch': parameter "
                                "'url' is required); fix them, save, and activate again")
    assert {d["node"] for d in error["details"]} == {"Double", "Fetch"}
    after = api.get(f"{URL}/{workflow_id}", headers=owner.headers).json()
    assert after["active"] is False and after["active_version"] is None
    assert not any(e["type"] == "workflow.activated" for e in outbox("workflow.events"))

    fixed = definition()
    fixed["nodes"][0] = draft["nodes"][0]
    fixed["nodes"].append({**draft["nodes"][2], "parameters": {"url": "https://example.com/"}})
    fixed["connections"] = draft["connections"]
    updated = api.patch(f"{URL}/{workflow_id}", json={"definition": fixed}, headers=owner.headers).json()
    assert updated["warnings"] == []
    activated = api.post(f"{URL}/{workflow_id}/activate", headers=owner.headers)
    assert activated.status_code == 200, activated.text
    assert activated.json()["active"] is True


def test_a_draft_cannot_be_run_and_the_refusal_names_the_node(api, api_user):
    owner = api_user("owner@example.com")
    draft = definition()
    draft["nodes"].append({"id": "h", "name": "Fetch", "type": "http_request", "position": [2, 0], "parameters": {}})
    workflow = api.post(URL, json={"name": "Draft", "definition": draft}, headers=owner.headers).json()
    response = api.post(f"{URL}/{workflow['id']}/run", json={}, headers=owner.headers)
    assert response.status_code == 422
    assert [d["node"] for d in response.json()["error"]["details"]] == ["Fetch"]


def test_an_update_makes_a_new_version_and_an_identical_one_makes_none(api, api_user):
    owner = api_user("owner@example.com")
    workflow = create(api, owner)
    url = f"{URL}/{workflow['id']}"
    changed = api.patch(url, json={"definition": definition("{{ $json.n * 3 }}"), "message": "triple"},
                        headers=owner.headers).json()
    assert changed["versions"] == [1, 2]
    same = api.patch(url, json={"definition": definition("{{ $json.n * 3 }}"), "name": "Renamed"},
                     headers=owner.headers).json()
    assert same["versions"] == [1, 2] and same["name"] == "Renamed"
    versions = api.get(f"{url}/versions", headers=owner.headers).json()
    assert [v["number"] for v in versions["items"]] == [2, 1] and versions["items"][0]["message"] == "triple"
    v1 = api.get(f"{url}/versions/1", headers=owner.headers).json()
    assert v1["definition"]["nodes"][1]["parameters"]["fields"][0]["value"] == "{{ $json.n * 2 }}"


def test_a_stale_base_version_is_a_conflict(api, api_user):
    owner = api_user("owner@example.com")
    url = f"{URL}/{create(api, owner)['id']}"
    api.patch(url, json={"definition": definition("{{ 1 }}")}, headers=owner.headers)
    response = api.patch(url, json={"definition": definition("{{ 2 }}"), "base_version": 1},
                         headers=owner.headers)
    assert response.status_code == 409
    assert "version 2" in response.json()["error"]["message"]


def test_diff_names_added_removed_and_changed_nodes_connections_and_settings(api, api_user):
    owner = api_user("owner@example.com")
    url = f"{URL}/{create(api, owner)['id']}"
    new = definition("{{ $json.n * 10 }}")
    new["nodes"].append(set_node("b", "Label", "label", "x", 2))
    new["connections"].append({"from": "a", "to": "b"})
    new["settings"] = {"timezone": "Europe/Berlin"}
    api.patch(url, json={"definition": new}, headers=owner.headers)
    diff = api.get(f"{url}/diff", params={"from_version": 1, "to_version": 2}, headers=owner.headers).json()
    assert diff["nodes"]["added"] == [{"id": "b", "name": "Label", "type": "set"}]
    assert diff["nodes"]["removed"] == []
    assert diff["nodes"]["changed"] == [{"id": "a", "name": "Double", "fields": {
        "parameters.fields": {"from": [{"name": "doubled", "value": "{{ $json.n * 2 }}"}],
                              "to": [{"name": "doubled", "value": "{{ $json.n * 10 }}"}]}}}]
    assert diff["connections"] == {"added": [{"from": "a", "output": "main", "to": "b", "input": "main"}],
                                   "removed": []}
    assert diff["settings"]["changed"] == {"timezone": {"from": None, "to": "Europe/Berlin"}}
    backwards = api.get(f"{url}/diff", params={"from_version": 2, "to_version": 1}, headers=owner.headers).json()
    assert backwards["nodes"]["removed"] == [{"id": "b", "name": "Label", "type": "set"}]


def test_restore_creates_a_new_version_equal_to_the_old_one(api, api_user):
    owner = api_user("owner@example.com")
    url = f"{URL}/{create(api, owner)['id']}"
    api.patch(url, json={"definition": definition("{{ 0 }}")}, headers=owner.headers)
    restored = api.post(f"{url}/versions/1/restore", headers=owner.headers).json()
    assert restored["versions"] == [1, 2, 3]
    v1 = api.get(f"{url}/versions/1", headers=owner.headers).json()
    v3 = api.get(f"{url}/versions/3", headers=owner.headers).json()
    assert v3["definition"] == v1["definition"] and v3["message"] == "restored version 1"
    assert api.post(f"{url}/versions/9/restore", headers=owner.headers).status_code == 404


def test_duplicate_copies_the_newest_definition_into_a_new_inactive_workflow(api, api_user):
    owner = api_user("owner@example.com")
    original = create(api, owner, tags=["a"])
    response = api.post(f"{URL}/{original['id']}/duplicate", headers=owner.headers)
    assert response.status_code == 201
    duplicate = response.json()
    assert duplicate["id"] != original["id"] and duplicate["name"] == "Orders (copy)"
    assert duplicate["definition"] == original["definition"] and duplicate["versions"] == [1]
    assert duplicate["tags"] == ["a"]


def test_export_then_import_round_trips(api, api_user):
    owner = api_user("owner@example.com")
    original = create(api, owner, tags=["x"])
    exported = api.get(f"{URL}/{original['id']}/export", headers=owner.headers)
    assert "attachment" in exported.headers["content-disposition"]
    file = exported.json()
    assert set(file) == {"name", "nodes", "connections", "settings", "tags"}
    other = api_user("other@example.com")
    imported = api.post(f"{URL}/import", json=file, headers=other.headers).json()
    assert imported["definition"] == original["definition"] and imported["tags"] == ["x"]
    again = api.get(f"{URL}/{imported['id']}/export", headers=other.headers).json()
    assert again == file
    bad = copy.deepcopy(file) | {"nodes": [{"id": "z", "name": "Z", "type": "nope"}]}
    assert api.post(f"{URL}/import", json=bad, headers=other.headers).status_code == 422


def test_list_filters_by_search_tag_and_active_and_pages(api, api_user):
    owner = api_user("owner@example.com")
    for index in range(5):
        create(api, owner, name=f"Sync {index}", tags=["sync"] if index % 2 else ["report"])
    create(api, owner, name="Invoices", description="100% of invoices")
    headers = owner.headers
    assert api.get(URL, params={"search": "sync"}, headers=headers).json()["total"] == 5
    assert api.get(URL, params={"search": "100%"}, headers=headers).json()["total"] == 1
    assert api.get(URL, params={"search": "0%"}, headers=headers).json()["total"] == 1
    assert api.get(URL, params={"tag": "sync"}, headers=headers).json()["total"] == 2
    assert api.get(URL, params={"active": True}, headers=headers).json()["total"] == 0
    page = api.get(URL, params={"limit": 4, "offset": 4}, headers=headers).json()
    assert page["total"] == 6 and len(page["items"]) == 2
    assert api.get(URL, params={"limit": 101}, headers=headers).status_code == 422


def test_activation_needs_a_trigger_that_starts_runs_on_its_own(api, api_user):
    owner = api_user("owner@example.com")
    manual = create(api, owner)
    response = api.post(f"{URL}/{manual['id']}/activate", headers=owner.headers)
    assert response.status_code == 422 and "trigger" in response.json()["error"]["message"]
    hooked = definition()
    hooked["nodes"][0] = {"id": "t", "name": "Hook", "type": "webhook", "version": 1,
                          "parameters": {"path": "orders/new"}}
    workflow = create(api, owner, name="Hooked", definition=hooked)
    activated = api.post(f"{URL}/{workflow['id']}/activate", headers=owner.headers).json()
    assert activated["active"] is True and activated["active_version"] == 1
    event = outbox("workflow.events")[-1]
    assert event["type"] == "workflow.activated" and event["workflow_id"] == workflow["id"]
    deactivated = api.post(f"{URL}/{workflow['id']}/deactivate", headers=owner.headers).json()
    assert deactivated["active"] is False and deactivated["active_version"] is None
    assert outbox("workflow.events")[-1]["type"] == "workflow.deactivated"
    actions = [e["action"] for e in outbox("audit.log")]
    assert actions[-2:] == ["workflow.activate", "workflow.deactivate"]


def test_run_queues_an_execution_and_the_worker_records_each_step(api, api_user, inline_worker):
    owner = api_user("owner@example.com")
    workflow = create(api, owner)
    response = api.post(f"{URL}/{workflow['id']}/run", json={"input": [{"n": 2}, {"n": 5}]},
                        headers=owner.headers)
    assert response.status_code == 202
    accepted = response.json()
    assert accepted["status"] == "queued"
    execution = api.get(f"/api/v1/executions/{accepted['execution_id']}", headers=owner.headers).json()
    assert execution["status"] == "succeeded" and execution["mode"] == "manual"
    assert [s["node_name"] for s in execution["steps"]] == ["Start", "Double"]
    doubled = execution["steps"][1]["output"]["main"]
    assert [item["json"]["doubled"] for item in doubled] == [4, 10]
    assert execution["duration_ms"] is not None and execution["workflow_id"] == workflow["id"]


def test_run_an_older_version(api, api_user, inline_worker):
    owner = api_user("owner@example.com")
    url = f"{URL}/{create(api, owner)['id']}"
    api.patch(url, json={"definition": definition("{{ $json.n * 100 }}")}, headers=owner.headers)
    accepted = api.post(f"{url}/run", json={"input": {"n": 1}, "version": 1}, headers=owner.headers).json()
    execution = api.get(f"/api/v1/executions/{accepted['execution_id']}", headers=owner.headers).json()
    assert execution["output"] == [{"json": {"n": 1, "doubled": 2}}]
    assert api.post(f"{url}/run", json={"version": 7}, headers=owner.headers).status_code == 404


def test_delete_removes_the_workflow(api, api_user):
    owner = api_user("owner@example.com")
    url = f"{URL}/{create(api, owner)['id']}"
    assert api.delete(url, headers=owner.headers).status_code == 204
    assert api.get(url, headers=owner.headers).status_code == 404
    assert outbox("audit.log")[-1]["action"] == "workflow.delete"


def test_another_teams_workflow_is_not_found_on_every_endpoint(api, api_user, held_queue):
    owner = api_user("owner@example.com")
    url = f"{URL}/{create(api, owner)['id']}"
    stranger = api_user("stranger@example.com").headers
    calls = [("get", url, None), ("patch", url, {"name": "x"}), ("delete", url, None),
             ("post", f"{url}/run", {}), ("get", f"{url}/versions", None), ("get", f"{url}/versions/1", None),
             ("post", f"{url}/versions/1/restore", None), ("get", f"{url}/diff?from_version=1", None),
             ("post", f"{url}/duplicate", None), ("get", f"{url}/export", None),
             ("post", f"{url}/activate", None), ("post", f"{url}/deactivate", None)]
    for method, path, body in calls:
        response = api.request(method, path, json=body, headers=stranger)
        assert response.status_code == 404, (method, path, response.text)
    assert held_queue == []
    assert api.get(url, headers=owner.headers).status_code == 200


def test_a_viewer_reads_but_may_not_change_or_run(api, api_user, held_queue):
    owner = api_user("owner@example.com")
    url = f"{URL}/{create(api, owner)['id']}"
    viewer = api_user("viewer@example.com", team_id=owner.team_id, role=Role.VIEWER).headers
    assert api.get(url, headers=viewer).status_code == 200
    assert api.get(URL, headers=viewer).json()["total"] == 1
    writes = [("post", URL, {"name": "x"}), ("patch", url, {"name": "x"}), ("delete", url, None),
              ("post", f"{url}/run", {}), ("post", f"{url}/activate", None), ("post", f"{url}/duplicate", None),
              ("post", f"{url}/versions/1/restore", None), ("post", f"{URL}/import", {"name": "x"})]
    for method, path, body in writes:
        response = api.request(method, path, json=body, headers=viewer)
        assert response.status_code == 403, (method, path, response.text)
    editor = api_user("editor@example.com", team_id=owner.team_id, role=Role.EDITOR).headers
    assert api.patch(url, json={"name": "by editor"}, headers=editor).status_code == 200
    assert api.get(URL, headers={}).status_code == 401


def test_a_duplicate_answers_at_a_new_generated_webhook_path_and_keeps_a_chosen_one(api, api_user):
    owner = api_user("owner@example.com")

    def duplicated_path(path: str) -> str:
        hook = {"id": "h", "name": "Hook", "type": "webhook", "position": [0, 0], "parameters": {"path": path}}
        original = create(api, owner, definition={"nodes": [hook], "connections": []})
        copy = api.post(f"{URL}/{original['id']}/duplicate", headers=owner.headers).json()
        return copy["definition"]["nodes"][0]["parameters"]["path"]

    generated = duplicated_path("0123456789abcdef0123456789abcdef")
    assert generated != "0123456789abcdef0123456789abcdef" and len(generated) == 32
    assert duplicated_path("orders/:id") == "orders/:id"
