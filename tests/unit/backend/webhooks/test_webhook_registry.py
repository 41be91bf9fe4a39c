"""Registering production webhooks: who owns a path, conflicts, and (de)activation."""

from __future__ import annotations

import pytest
from sqlalchemy import update
from webhook_testkit import flow, hook, node

from backend.db.session import session_scope
from backend.errors import Conflict, UserError
from backend.webhooks.models import Webhook
from backend.webhooks.service import (
    invalidate_cache,
    match,
    register_workflow_webhooks,
    registered_webhooks,
    unregister_workflow_webhooks,
)
from backend.workflows.models import Workflow


def test_activation_registers_the_webhook_and_requests_reach_it(api, deploy):
    workflow_id = deploy(flow(hook("orders/new")))
    with session_scope() as session:
        rows = registered_webhooks(session, workflow_id)
    assert [(r.method, r.path, r.node_id) for r in rows] == [("POST", "orders/new", "hook")]
    route, params = match("post", "/orders/new/")
    assert (route.workflow_id, route.node_id, params) == (workflow_id, "hook", {})
    response = api.post("/webhook/orders/new", json={"id": 7})
    assert response.status_code == 200
    assert response.json()["body"] == {"id": 7}


def test_a_path_taken_by_another_workflow_is_refused_naming_it(api, deploy, team):
    owner_id = deploy(flow(hook("orders")), name="Shop orders")
    with pytest.raises(Conflict) as refused:
        deploy(flow(hook("orders")), name="Copy of shop orders")
    assert "POST /webhook/orders" in refused.value.message
    assert "'Shop orders'" in refused.value.message and owner_id in refused.value.message
    assert refused.value.details["workflow_id"] == owner_id


def test_another_method_on_the_same_path_is_free(api, deploy):
    deploy(flow(hook("orders", method="POST")))
    deploy(flow(hook("orders", method="GET")), name="Order lookup")
    assert api.get("/webhook/orders").status_code == 200
    assert api.post("/webhook/orders", json={}).status_code == 200


def test_path_parameters_are_matched_and_clash_by_shape(api, deploy):
    workflow_id = deploy(flow(hook("users/:id/orders", method="GET")))
    response = api.get("/webhook/users/42/orders")
    assert response.status_code == 200
    assert response.json()["params"] == {"id": "42"}
    assert api.get("/webhook/users/42").status_code == 404
    with pytest.raises(Conflict) as refused:
        deploy(flow(hook("users/:name/orders", method="GET")), name="Other")
    assert workflow_id in refused.value.message


def test_an_exact_path_and_a_pattern_of_two_workflows_of_one_team_are_refused(api, deploy):
    pattern_id = deploy(flow(hook("users/:id", method="GET")), name="Any user")
    with pytest.raises(Conflict) as refused:
        deploy(flow(hook("users/me", method="GET")), name="Me")
    assert refused.value.message == (
        f"GET /webhook/users/me overlaps GET /webhook/users/:id of workflow 'Any user' ({pattern_id}) in this "
        "team; change the path or method, or deactivate that workflow first")


def test_a_static_path_still_wins_over_a_pattern_registered_before_overlaps_were_refused(api, deploy, team):
    deploy(flow(hook("users/:id", method="GET")), name="Any user")
    me_id = deploy(flow(hook("users/me", method="POST"),
                        node("set", "Set", "set", 1, fields=[{"name": "who", "value": "me"}], keep_only_set=True)),
                   name="Me")
    with session_scope() as session:  # as an older LinkFlow registered it
        session.execute(update(Webhook).where(Webhook.workflow_id == me_id).values(method="GET"))
    invalidate_cache()
    assert api.get("/webhook/users/me").json() == {"who": "me"}
    assert api.get("/webhook/users/5").json()["params"] == {"id": "5"}


def test_registering_again_replaces_the_workflows_paths(api, deploy, team):
    workflow_id = deploy(flow(hook("old")))
    with session_scope() as session:
        workflow = session.get(Workflow, workflow_id)
        register_workflow_webhooks(session, workflow, flow(hook("new")))
    assert api.post("/webhook/old", json={}).status_code == 404
    # the route follows the registration; the active version stays what activation chose
    assert api.post("/webhook/new", json={}).status_code == 200


def test_two_nodes_of_one_workflow_cannot_share_a_path(api, team):
    definition = flow(hook("same"), {**hook("same"), "id": "hook2", "name": "Webhook 2"})
    with session_scope() as session, pytest.raises(UserError) as refused:
        workflow = Workflow(team_id=team.team_id, name="twice")
        session.add(workflow)
        session.flush()
        register_workflow_webhooks(session, workflow, definition)
    assert "'hook'" in refused.value.message and "'hook2'" in refused.value.message


def test_deactivating_unregisters_at_once(api, deploy, undeploy):
    workflow_id = deploy(flow(hook("orders")))
    assert api.post("/webhook/orders", json={}).status_code == 200  # now cached as found
    undeploy(workflow_id)
    response = api.post("/webhook/orders", json={})
    assert response.status_code == 404
    assert response.json()["error"]["message"] == "no active workflow listens on POST /webhook/orders"
    with session_scope() as session:
        assert registered_webhooks(session, workflow_id) == []


def test_a_registration_of_an_inactive_workflow_answers_404(api, deploy, team):
    workflow_id = deploy(flow(hook("orders")))
    with session_scope() as session:
        session.get(Workflow, workflow_id).active = False  # e.g. deactivated without unregistering
    from backend.webhooks.service import invalidate_cache

    invalidate_cache()
    assert api.post("/webhook/orders", json={}).status_code == 404


def test_unknown_path_answers_json_404(api):
    response = api.get("/webhook/nothing/here")
    assert response.status_code == 404
    assert response.json()["error"] == {"code": "not_found", "details": None,
                                        "message": "no active workflow listens on GET /webhook/nothing/here"}


def test_unregister_is_idempotent(api, team):
    with session_scope() as session:
        unregister_workflow_webhooks(session, "no-such-workflow")
