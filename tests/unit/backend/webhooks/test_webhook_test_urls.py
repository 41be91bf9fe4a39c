"""/webhook-test: answers once while the editor listens, for saved workflows active or not."""

from __future__ import annotations

from webhook_testkit import executions, flow, hook, node

from backend.db.session import session_scope
from backend.webhooks.listeners import listen_for_test, stop_listening
from backend.workflows.models import Workflow
from backend.workflows.service import save_version

GREET = node("set", "Greet", "set", 1, keep_only_set=True, fields=[{"name": "hi", "value": "{{ $json.body.name }}"}])


def saved_workflow(team, definition: dict) -> str:
    with session_scope() as session:
        workflow = Workflow(team_id=team.team_id, name="Draft", created_by=team.user_id)
        session.add(workflow)
        session.flush()
        save_version(session, workflow, definition, user_id=team.user_id)
        return workflow.id


def test_without_a_listener_the_test_url_says_how_to_listen(api):
    response = api.post("/webhook-test/orders", json={})
    assert response.status_code == 404
    assert "Listen for test event" in response.json()["error"]["message"]


def test_a_listener_runs_the_inactive_workflow_once_in_test_mode(api, team):
    definition = flow(hook("orders"), GREET, settings={"save_data": "none"})
    workflow_id = saved_workflow(team, definition)
    assert listen_for_test(workflow_id, definition) == ["POST orders"]
    assert api.post("/webhook/orders", json={"name": "x"}).status_code == 404  # not active: no production URL
    response = api.post("/webhook-test/orders", json={"name": "Ada"})
    assert (response.status_code, response.json()) == (200, {"hi": "Ada"})
    [execution] = executions()  # saved despite save_data none: the editor shows test runs
    assert (execution.mode, execution.workflow_id, execution.status) == ("test", workflow_id, "succeeded")
    assert api.post("/webhook-test/orders", json={"name": "again"}).status_code == 404


def test_a_refused_test_call_keeps_the_listener(api, team):
    definition = flow(hook("orders", auth="header", header_value="k"), GREET)
    workflow_id = saved_workflow(team, definition)
    listen_for_test(workflow_id, definition)
    assert api.post("/webhook-test/orders", json={"name": "x"}).status_code == 401
    assert api.post("/webhook-test/orders", json={"name": "y"}, headers={"X-API-Key": "k"}).json() == {"hi": "y"}


def test_listening_ends_when_it_expires_or_is_stopped(api, team):
    definition = flow(hook("orders"), GREET)
    workflow_id = saved_workflow(team, definition)
    listen_for_test(workflow_id, definition, ttl_s=0)
    assert api.post("/webhook-test/orders", json={}).status_code == 404
    listen_for_test(workflow_id, definition)
    stop_listening(workflow_id)
    assert api.post("/webhook-test/orders", json={}).status_code == 404
    assert executions() == []
