"""Issue #12: saving an active workflow keeps the live version; Publish (activate again) makes the newest live.

The editor shows "live v1 · editing v2" and a Publish button; this pins the API behaviour it relies on.
"""

from __future__ import annotations

URL = "/api/v1/workflows"


def definition(greeting: str) -> dict:
    hook = {"id": "hook", "name": "Webhook", "type": "webhook", "version": 1, "position": [0, 0],
            "parameters": {"path": "publish/orders", "respond": "last_node"}}
    greet = {"id": "set", "name": "Greet", "type": "set", "version": 1, "position": [200, 0],
             "parameters": {"fields": [{"name": "greeting", "value": greeting}]}}
    return {"nodes": [hook, greet], "connections": [{"from": "hook", "to": "set"}]}


def greeting(api) -> str:
    answer = api.post("/webhook/publish/orders", json={})
    assert answer.status_code == 200, answer.text
    return answer.json()["greeting"]


def test_saving_keeps_the_live_version_until_it_is_published(api, api_user, inline_worker):
    owner = api_user("owner@example.com")
    workflow_id = api.post(URL, json={"name": "Orders", "definition": definition("v1")}, headers=owner.headers).json()["id"]
    assert api.post(f"{URL}/{workflow_id}/activate", headers=owner.headers).json()["active_version"] == 1
    assert greeting(api) == "v1"

    saved = api.patch(f"{URL}/{workflow_id}", json={"definition": definition("v2")}, headers=owner.headers).json()
    assert (saved["latest_version"], saved["active_version"], saved["active"]) == (2, 1, True)
    assert greeting(api) == "v1"  # saved, not published: the webhook still runs the live version

    published = api.post(f"{URL}/{workflow_id}/activate", headers=owner.headers).json()
    assert (published["latest_version"], published["active_version"]) == (2, 2)
    assert greeting(api) == "v2"


def test_another_team_cannot_publish(api, api_user):
    owner = api_user("owner@example.com")
    stranger = api_user("stranger@example.com")
    workflow_id = api.post(URL, json={"name": "Orders", "definition": definition("v1")}, headers=owner.headers).json()["id"]
    assert api.post(f"{URL}/{workflow_id}/activate", headers=stranger.headers).status_code == 404
    assert api.get(f"{URL}/{workflow_id}", headers=owner.headers).json()["active"] is False
