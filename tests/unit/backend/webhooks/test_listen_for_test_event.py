"""POST/DELETE /api/v1/workflows/{id}/test-event: the editor's long-poll for a test webhook request."""

from __future__ import annotations

import time

from webhook_testkit import Listening, flow, hook, node

from backend import foreground
from backend.users.models import Role
from backend.webhooks import listeners

GREET = node("set", "Greet", "set", 1, fields=[{"name": "hi", "value": "{{ $json.body.name }}"}])
URL = "/api/v1/workflows"


def create(api, user, definition: dict) -> str:
    response = api.post(URL, json={"name": "Listen", "definition": definition}, headers=user.headers)
    assert response.status_code == 201, response.text
    return response.json()["id"]


def test_the_event_starts_a_test_run_and_the_long_poll_names_it(api, api_user):
    owner = api_user("owner@example.com")
    workflow_id = create(api, owner, flow(hook("orders"), GREET))
    listening = Listening(api, owner, workflow_id)
    listening.start()
    listening.wait_armed()
    answer = api.post("/webhook-test/orders", json={"name": "Ada"})
    assert (answer.status_code, answer.json()["hi"]) == (200, "Ada")
    result = listening.result()
    assert result["status"] == "received" and result["node_id"] == "hook"
    assert result["listened_on"] == ["POST orders"]
    execution = api.get(f"/api/v1/executions/{result['execution_id']}", headers=owner.headers).json()
    assert (execution["mode"], execution["status"], execution["workflow_id"]) == ("test", "succeeded", workflow_id)
    assert execution["output"][0]["json"]["hi"] == "Ada"
    assert api.post("/webhook-test/orders", json={}).status_code == 404  # once only


def test_a_test_event_run_uses_pins_after_the_trigger(api, api_user):
    owner = api_user("owner@example.com")
    after = node("after", "After", "set", 2, fields=[{"name": "seen", "value": "{{ $json.hi }}"}])
    definition = {**flow(hook("orders"), GREET, after), "pin_data": {"Greet": [{"hi": "pinned"}], "Webhook": [{}]}}
    workflow_id = create(api, owner, definition)
    listening = Listening(api, owner, workflow_id)
    listening.start()
    listening.wait_armed()
    answer = api.post("/webhook-test/orders", json={"name": "Ada"})
    assert answer.json() == {"hi": "pinned", "seen": "pinned"}
    execution = api.get(f"/api/v1/executions/{listening.result()['execution_id']}", headers=owner.headers).json()
    trigger = next(s for s in execution["steps"] if s["node_name"] == "Webhook")
    assert trigger["output"]["main"][0]["json"]["body"] == {"name": "Ada"}  # the event, not the trigger's pin


def test_nothing_arrives_in_time(api, api_user):
    owner = api_user("owner@example.com")
    workflow_id = create(api, owner, flow(hook("orders"), GREET))
    started = time.monotonic()
    result = api.post(f"{URL}/{workflow_id}/test-event", json={"timeout_s": 0.3}, headers=owner.headers).json()
    assert result["status"] == "timeout" and "0.3 s" in result["message"]
    assert time.monotonic() - started < 5
    assert api.post("/webhook-test/orders", json={}).status_code == 404


def test_delete_cancels_the_waiting_editor(api, api_user):
    owner = api_user("owner@example.com")
    workflow_id = create(api, owner, flow(hook("orders"), GREET))
    listening = Listening(api, owner, workflow_id)
    listening.start()
    listening.wait_armed()
    assert api.delete(f"{URL}/{workflow_id}/test-event", headers=owner.headers).status_code == 204
    assert listening.result()["status"] == "cancelled"
    assert api.post("/webhook-test/orders", json={}).status_code == 404


def test_a_request_the_webhook_refuses_keeps_listening(api, api_user):
    owner = api_user("owner@example.com")
    guarded = hook("orders", auth="header", header_name="X-Key", header_value="k")
    workflow_id = create(api, owner, flow(guarded, GREET))
    listening = Listening(api, owner, workflow_id, timeout_s=5)
    listening.start()
    listening.wait_armed()
    assert api.post("/webhook-test/orders", json={"name": "x"}).status_code == 401
    assert api.post("/webhook-test/orders", json={"name": "y"}, headers={"X-Key": "k"}).status_code == 200
    assert listening.result()["status"] == "received"


def test_refusals(api, api_user):
    owner = api_user("owner@example.com")
    no_hook = create(api, owner, flow(node("t", "Start", "manual_trigger", 0), GREET))
    response = api.post(f"{URL}/{no_hook}/test-event", json={}, headers=owner.headers)
    assert response.status_code == 422 and "no Webhook node" in response.json()["error"]["message"]
    workflow_id = create(api, owner, flow(hook("orders"), GREET))
    assert api.post(f"{URL}/{workflow_id}/test-event", json={"timeout_s": 121},
                    headers=owner.headers).status_code == 422
    viewer = api_user("viewer@example.com", team_id=owner.team_id, role=Role.VIEWER)
    assert api.post(f"{URL}/{workflow_id}/test-event", json={}, headers=viewer.headers).status_code == 403
    assert api.delete(f"{URL}/{workflow_id}/test-event", headers=viewer.headers).status_code == 403
    stranger = api_user("stranger@example.com")
    assert api.post(f"{URL}/{workflow_id}/test-event", json={}, headers=stranger.headers).status_code == 404
    assert listeners.find_listener("POST", "orders") is None


def in_flight_everywhere() -> list[int]:
    return [here.in_flight for here in list(foreground._loops.values())]  # noqa: SLF001


def test_a_waiting_editor_does_not_hold_back_the_event_pipeline(api, api_user):
    """While the long-poll only waits it is not a request in flight: the pipeline does not give way to it
    (backend/foreground.py), and it counts again, once, when it answers."""
    owner = api_user("owner@example.com")
    workflow_id = create(api, owner, flow(hook("orders"), GREET))
    listening = Listening(api, owner, workflow_id, timeout_s=5)
    listening.start()
    listening.wait_armed()
    deadline = time.monotonic() + 2
    while any(in_flight_everywhere()) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert not any(in_flight_everywhere()), "the waiting long-poll counts as a request in flight"
    assert api.post("/webhook-test/orders", json={"name": "Ada"}).status_code == 200
    assert listening.result()["status"] == "received"
    assert not any(in_flight_everywhere())
