"""What the editor needs from /api/v1/workflows: pinned data, "Run this node", sticky notes, draft diffs."""

from __future__ import annotations

from backend.engine.pins import MAX_PIN_DATA_BYTES
from backend.users.models import Role

URL = "/api/v1/workflows"


def chain(trigger: dict | None = None) -> dict:
    return {
        "nodes": [
            trigger or {"id": "t", "name": "Start", "type": "manual_trigger", "version": 1, "position": [0, 0]},
            {"id": "a", "name": "Double", "type": "set", "version": 1, "position": [200, 0],
             "parameters": {"fields": [{"name": "doubled", "value": "{{ $json.n * 2 }}"}]}},
            {"id": "b", "name": "Label", "type": "set", "version": 1, "position": [400, 0],
             "parameters": {"fields": [{"name": "label", "value": "{{ 'n=' + str($json.doubled) }}"}]}},
            {"id": "c", "name": "Elsewhere", "type": "noop", "version": 1, "position": [200, 200]},
        ],
        "connections": [{"from": "t", "to": "a"}, {"from": "a", "to": "b"}, {"from": "t", "to": "c"}],
    }


def create(api, user, definition: dict) -> str:
    response = api.post(URL, json={"name": "Editor", "definition": definition}, headers=user.headers)
    assert response.status_code == 201, response.text
    return response.json()["id"]


def run(api, user, workflow_id: str, **body) -> dict:
    response = api.post(f"{URL}/{workflow_id}/run", json=body, headers=user.headers)
    assert response.status_code == 202, response.text
    return api.get(f"/api/v1/executions/{response.json()['execution_id']}", headers=user.headers).json()


def test_pins_are_saved_normalised_and_a_manual_run_uses_them(api, api_user, inline_worker):
    owner = api_user("owner@example.com")
    workflow_id = create(api, owner, {**chain(), "pin_data": {"Double": [{"doubled": 7}]}})
    saved = api.get(f"{URL}/{workflow_id}", headers=owner.headers).json()["definition"]
    assert saved["pin_data"] == {"Double": [{"json": {"doubled": 7}}]}
    execution = run(api, owner, workflow_id, input={"n": 1})
    assert execution["status"] == "succeeded"
    assert execution["output"] == [{"json": {"doubled": 7, "label": "n=7"}}]
    double = next(s for s in execution["steps"] if s["node_name"] == "Double")
    assert double["output"] == {"main": [{"json": {"doubled": 7}}]} and double["attempts"] == 0


def test_production_webhook_runs_ignore_pins(api, api_user):
    owner = api_user("owner@example.com")
    hook = {"id": "t", "name": "Hook", "type": "webhook", "version": 1, "position": [0, 0],
            "parameters": {"path": "pinned-orders", "respond": "last_node"}}
    definition = chain(hook)
    definition["nodes"][1]["parameters"]["fields"][0]["value"] = "{{ $json.body.n * 2 }}"
    workflow_id = create(api, owner, {**definition, "pin_data": {"Double": [{"doubled": 7}], "Hook": [{}]}})
    assert api.post(f"{URL}/{workflow_id}/activate", headers=owner.headers).status_code == 200
    answer = api.post("/webhook/pinned-orders", json={"n": 21})
    assert answer.status_code == 200, answer.text
    assert answer.json()["label"] == "n=42"


def test_too_much_pinned_data_is_refused_and_nothing_is_saved(api, api_user):
    owner = api_user("owner@example.com")
    workflow_id = create(api, owner, chain())
    big = {"Double": [{"text": "x" * MAX_PIN_DATA_BYTES}]}
    response = api.patch(f"{URL}/{workflow_id}", json={"definition": {**chain(), "pin_data": big}},
                         headers=owner.headers)
    assert response.status_code == 422
    assert "more than the limit of 1,000,000" in response.json()["error"]["details"][0]["message"]
    assert api.get(f"{URL}/{workflow_id}", headers=owner.headers).json()["latest_version"] == 1


def test_pins_on_unknown_or_two_output_nodes_are_refused(api, api_user):
    owner = api_user("owner@example.com")
    definition = chain()
    definition["nodes"].append({"id": "i", "name": "Check", "type": "if", "version": 1, "position": [600, 0]})
    response = api.post(URL, json={"name": "x", "definition": {**definition, "pin_data": {
        "Ghost": [{}], "Check": [{}]}}}, headers=owner.headers)
    assert response.status_code == 422
    messages = {(d["node"], d["message"]) for d in response.json()["error"]["details"]}
    assert (None, "pin_data names node 'Ghost', which does not exist; unpin it or rename it") in messages
    assert any(node == "Check" and "only nodes with one output" in m for node, m in messages)


def test_run_this_node_runs_it_and_its_ancestors_only(api, api_user, inline_worker):
    owner = api_user("owner@example.com")
    workflow_id = create(api, owner, chain())
    execution = run(api, owner, workflow_id, input={"n": 4}, destination_node="Double")
    assert execution["status"] == "succeeded"
    assert [s["node_name"] for s in execution["steps"]] == ["Start", "Double"]
    assert execution["output"] == [{"json": {"n": 4, "doubled": 8}}]


def test_run_this_node_uses_pins_instead_of_the_nodes_before(api, api_user, inline_worker):
    owner = api_user("owner@example.com")
    workflow_id = create(api, owner, {**chain(), "pin_data": {"Double": [{"doubled": 5}]}})
    execution = run(api, owner, workflow_id, destination_node="Label")
    assert [s["node_name"] for s in execution["steps"]] == ["Double", "Label"]
    assert execution["output"] == [{"json": {"doubled": 5, "label": "n=5"}}]


def test_an_unknown_destination_is_refused_and_nothing_runs(api, api_user, held_queue):
    owner = api_user("owner@example.com")
    workflow_id = create(api, owner, chain())
    response = api.post(f"{URL}/{workflow_id}/run", json={"destination_node": "Nope"}, headers=owner.headers)
    assert response.status_code == 422
    assert "node 'Nope' does not exist in version 1" in response.json()["error"]["message"]
    assert held_queue == []
    response = api.post(f"{URL}/{workflow_id}/run", json={"destination_node": ""}, headers=owner.headers)
    assert response.status_code == 422


def test_sticky_notes_are_kept_and_checked(api, api_user):
    owner = api_user("owner@example.com")
    notes = [{"id": "n1", "text": "# Why\nexplains", "position": [10, 20], "size": [300, 120]}]
    workflow_id = create(api, owner, {**chain(), "sticky_notes": notes})
    saved = api.get(f"{URL}/{workflow_id}", headers=owner.headers).json()["definition"]
    assert saved["sticky_notes"] == [{**notes[0], "color": "yellow"}]
    exported = api.get(f"{URL}/{workflow_id}/export", headers=owner.headers).json()
    assert exported["sticky_notes"] == saved["sticky_notes"]
    bad = api.patch(f"{URL}/{workflow_id}", json={"definition": {**chain(), "sticky_notes": [{"text": 3}]}},
                    headers=owner.headers)
    assert bad.status_code == 422
    messages = [d["message"] for d in bad.json()["error"]["details"]]
    assert "sticky_notes[0].id: Field required" in messages
    assert api.get(f"{URL}/{workflow_id}", headers=owner.headers).json()["latest_version"] == 1


def test_diff_against_an_unsaved_draft(api, api_user):
    owner = api_user("owner@example.com")
    workflow_id = create(api, owner, chain())
    draft = chain()
    draft["nodes"] = [n for n in draft["nodes"] if n["name"] != "Elsewhere"]
    draft["connections"] = [c for c in draft["connections"] if c["to"] != "c"]
    draft["nodes"][1]["parameters"]["fields"][0]["value"] = "{{ $json.n * 3 }}"
    draft["nodes"].append({"id": "d", "name": "New", "type": "noop", "version": 1, "position": [600, 0]})
    response = api.post(f"{URL}/{workflow_id}/diff", json={"from_version": 1, "definition": draft},
                        headers=owner.headers)
    assert response.status_code == 200, response.text
    nodes = response.json()["nodes"]
    assert [n["id"] for n in nodes["added"]] == ["d"]
    assert [n["id"] for n in nodes["removed"]] == ["c"]
    assert [n["id"] for n in nodes["changed"]] == ["a"]
    missing = api.post(f"{URL}/{workflow_id}/diff", json={"from_version": 9, "definition": draft},
                       headers=owner.headers)
    assert missing.status_code == 404
    stranger = api_user("stranger@example.com")
    assert api.post(f"{URL}/{workflow_id}/diff", json={"from_version": 1, "definition": draft},
                    headers=stranger.headers).status_code == 404


def test_a_viewer_may_diff_but_not_run_a_node(api, api_user, held_queue):
    owner = api_user("owner@example.com")
    workflow_id = create(api, owner, chain())
    viewer = api_user("viewer@example.com", team_id=owner.team_id, role=Role.VIEWER)
    assert api.post(f"{URL}/{workflow_id}/run", json={"destination_node": "Double"},
                    headers=viewer.headers).status_code == 403
    assert api.post(f"{URL}/{workflow_id}/diff", json={"from_version": 1, "definition": chain()},
                    headers=viewer.headers).status_code == 200
    assert held_queue == []
