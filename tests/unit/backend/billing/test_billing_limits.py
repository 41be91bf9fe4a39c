"""Activating, inviting and running beyond the plan answer 402 naming the limit, the usage and how to
upgrade; with the free backend nothing is limited."""

from __future__ import annotations

from billing_testkit import manual_flow, set_plan, webhook_flow

from backend.users.models import Role

WORKFLOWS = "/api/v1/workflows"


def assert_quota_error(response, limit: str, used: int, allowed: int) -> dict:
    assert response.status_code == 402, response.text
    error = response.json()["error"]
    assert error["code"] == "quota_exceeded"
    assert error["details"]["limit"] == limit
    assert (error["details"]["used"], error["details"]["allowed"]) == (used, allowed)
    assert error["details"]["upgrade_url"].endswith("/settings/billing")
    assert "upgrade in Settings → Billing" in error["message"] and f"{allowed:,}" in error["message"]
    return error


def test_activating_past_the_active_workflow_limit_is_a_402_and_the_workflow_stays_inactive(
        api, owner, create_workflow):
    set_plan(active_workflows_limit=2)
    ids = [create_workflow(owner, webhook_flow(f"hook-{n}"), f"W{n}") for n in range(3)]
    for workflow_id in ids[:2]:
        assert api.post(f"{WORKFLOWS}/{workflow_id}/activate", headers=owner.headers).status_code == 200
    refused = api.post(f"{WORKFLOWS}/{ids[2]}/activate", headers=owner.headers)
    error = assert_quota_error(refused, "active_workflows", 2, 2)
    assert "active workflows" in error["message"] and "deactivate another workflow" in error["message"]
    assert api.get(f"{WORKFLOWS}/{ids[2]}", headers=owner.headers).json()["active"] is False
    assert api.post("/webhook/hook-2", json={}).status_code == 404, "its webhook was not registered"
    api.post(f"{WORKFLOWS}/{ids[0]}/deactivate", headers=owner.headers)
    assert api.post(f"{WORKFLOWS}/{ids[2]}/activate", headers=owner.headers).status_code == 200


def test_inviting_past_the_member_limit_counts_pending_invitations(api, owner, api_user):
    set_plan(members_limit=3)
    invitations = f"/api/v1/teams/{owner.team_id}/invitations"
    for email in ("a@example.com", "b@example.com"):
        assert api.post(invitations, json={"email": email, "role": "editor"}, headers=owner.headers).status_code == 201
    refused = api.post(invitations, json={"email": "c@example.com", "role": "editor"}, headers=owner.headers)
    assert_quota_error(refused, "members", 3, 3)
    again = api.post(invitations, json={"email": "b@example.com", "role": "viewer"}, headers=owner.headers)
    assert again.status_code == 201, "inviting the same address again replaces its invitation"


def test_accepting_an_invitation_into_a_full_team_is_a_402(api, owner, api_user):
    invited = api.post(f"/api/v1/teams/{owner.team_id}/invitations", json={"email": "late@example.com",
                                                                           "role": "editor"}, headers=owner.headers)
    token = invited.json()["invite_url"].split("token=", 1)[1]
    api_user("third@example.com", team_id=owner.team_id, role=Role.EDITOR)
    set_plan(members_limit=2)  # e.g. the team was moved to a smaller plan meanwhile
    late = api_user("late@example.com")
    refused = api.post("/api/v1/teams/invitations/accept", json={"token": token}, headers=late.headers)
    assert_quota_error(refused, "members", 2, 2)
    members = api.get(f"/api/v1/teams/{owner.team_id}/members", headers=owner.headers).json()
    assert "late@example.com" not in {m["email"] for m in members}


def test_manual_runs_and_retries_stop_at_the_execution_quota(api, owner, create_workflow, held_queue):
    set_plan(executions_limit=3)
    workflow_id = create_workflow(owner, manual_flow())
    started = [api.post(f"{WORKFLOWS}/{workflow_id}/run", json={}, headers=owner.headers) for _ in range(3)]
    assert [r.status_code for r in started] == [202, 202, 202]
    refused = api.post(f"{WORKFLOWS}/{workflow_id}/run", json={}, headers=owner.headers)
    error = assert_quota_error(refused, "executions", 3, 3)
    assert "executions per billing period" in error["message"] and error["details"]["period_end"]
    assert len(held_queue) == 3, "the refused run was never queued"


def test_a_bulk_retry_past_the_quota_skips_each_execution_with_the_reason(api, owner, create_workflow,
                                                                           inline_worker):
    set_plan(executions_limit=2)
    workflow_id = create_workflow(owner, manual_flow())
    first = api.post(f"{WORKFLOWS}/{workflow_id}/run", json={}, headers=owner.headers).json()["execution_id"]
    retried = api.post(f"/api/v1/executions/{first}/retry", headers=owner.headers)
    assert retried.status_code == 202
    result = api.post("/api/v1/executions/bulk-retry", json={"ids": [first]}, headers=owner.headers).json()
    [outcome] = result["results"]
    assert outcome["outcome"] == "skipped" and "executions per billing period" in outcome["reason"]
    assert api.post(f"/api/v1/executions/{first}/retry", headers=owner.headers).status_code == 402


def test_with_the_free_backend_nothing_is_limited_and_billing_is_off(configure, api, api_user, create_workflow,
                                                                     held_queue):
    configure(BILLING_BACKEND="free")
    set_plan(executions_limit=1, active_workflows_limit=1, members_limit=1)  # the plan rows are ignored
    owner = api_user("self-hosted@example.com")
    ids = [create_workflow(owner, webhook_flow(f"free-{n}"), f"W{n}") for n in range(2)]
    assert all(api.post(f"{WORKFLOWS}/{i}/activate", headers=owner.headers).status_code == 200 for i in ids)
    manual = create_workflow(owner, manual_flow())
    assert all(api.post(f"{WORKFLOWS}/{manual}/run", json={}, headers=owner.headers).status_code == 202
               for _ in range(3))
    assert api.post(f"/api/v1/teams/{owner.team_id}/invitations", json={"email": "x@example.com", "role": "viewer"},
                    headers=owner.headers).status_code == 201
    summary = api.get("/api/v1/billing", headers=owner.headers).json()
    assert summary["backend"] == "free" and summary["plan"] is None and summary["payment_failed"] is None
    assert summary["usage"]["active_workflows"] == {"used": 2, "limit": None, "cap": None}
    assert api.get("/api/v1/billing/plans", headers=owner.headers).json()["error"]["code"] == "billing_disabled"
    assert api.post("/stripe/webhook", content=b"{}").status_code == 404
