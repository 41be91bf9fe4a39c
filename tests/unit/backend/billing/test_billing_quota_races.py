"""The execution quota on the request path: production webhooks get the grace margin then 402 (never a
silent drop, never a 500), test URLs and manual runs stop at the quota, and requests racing at the
limit cannot get past it."""

from __future__ import annotations

from collections import Counter
from concurrent.futures import ThreadPoolExecutor

from billing_testkit import execution_count, manual_flow, set_plan, webhook_flow

from backend.billing.gate import execution_gate

WORKFLOWS = "/api/v1/workflows"


def deploy(api, owner, create_workflow, path: str, **kw) -> str:
    workflow_id = create_workflow(owner, webhook_flow(path, **kw))
    assert api.post(f"{WORKFLOWS}/{workflow_id}/activate", headers=owner.headers).status_code == 200
    return workflow_id


def test_production_webhooks_run_through_the_grace_margin_then_answer_402(configure, api, owner, create_workflow,
                                                                         held_queue):
    configure(BILLING_WEBHOOK_GRACE_PERCENT="20")
    set_plan(executions_limit=10)
    deploy(api, owner, create_workflow, "orders")
    answers = [api.post("/webhook/orders", json={"n": n}) for n in range(14)]
    assert [a.status_code for a in answers] == [202] * 12 + [402, 402], "10 included + 2 (20 %) of grace"
    error = answers[-1].json()["error"]
    assert error["code"] == "quota_exceeded" and error["details"]["limit"] == "executions"
    assert "grace margin" in error["message"] and "/settings/billing" in error["message"]
    assert answers[-1].headers["content-security-policy"] == "sandbox", "still a webhook answer"
    assert execution_count() == 12 == len(held_queue), "every 202 has its execution, every refusal none"


def test_test_urls_and_manual_runs_get_no_grace(configure, api, owner, create_workflow, held_queue):
    configure(BILLING_WEBHOOK_GRACE_PERCENT="50")
    set_plan(executions_limit=2)
    manual = create_workflow(owner, manual_flow())
    assert api.post(f"{WORKFLOWS}/{manual}/run", json={}, headers=owner.headers).status_code == 202
    assert api.post(f"{WORKFLOWS}/{manual}/run", json={}, headers=owner.headers).status_code == 202
    assert api.post(f"{WORKFLOWS}/{manual}/run", json={}, headers=owner.headers).status_code == 402


def test_a_request_the_webhook_refuses_gives_its_place_back(configure, api, owner, create_workflow, held_queue):
    configure(BILLING_WEBHOOK_GRACE_PERCENT="0")
    set_plan(executions_limit=2)
    deploy(api, owner, create_workflow, "strict")
    for _ in range(5):  # malformed bodies start nothing, so they use none of the quota
        bad = api.post("/webhook/strict", content=b"{not json", headers={"Content-Type": "application/json"})
        assert bad.status_code == 400
    assert [api.post("/webhook/strict", json={}).status_code for _ in range(3)] == [202, 202, 402]


def test_concurrent_manual_runs_at_the_limit_start_exactly_the_quota(api, owner, create_workflow, held_queue):
    set_plan(executions_limit=5)
    workflow_id = create_workflow(owner, manual_flow())
    for _ in range(4):
        assert api.post(f"{WORKFLOWS}/{workflow_id}/run", json={}, headers=owner.headers).status_code == 202
    with ThreadPoolExecutor(max_workers=12) as pool:
        statuses = Counter(pool.map(lambda _: api.post(f"{WORKFLOWS}/{workflow_id}/run", json={},
                                                        headers=owner.headers).status_code, range(24)))
    assert statuses == Counter({202: 1, 402: 23})
    assert execution_count() == 5


def test_concurrent_webhooks_at_the_limit_admit_exactly_the_grace_and_never_fail(configure, api, owner,
                                                                                 create_workflow, held_queue):
    configure(BILLING_WEBHOOK_GRACE_PERCENT="30")
    set_plan(executions_limit=10)
    deploy(api, owner, create_workflow, "burst")
    assert [api.post("/webhook/burst", json={}).status_code for _ in range(9)] == [202] * 9
    with ThreadPoolExecutor(max_workers=16) as pool:
        statuses = Counter(pool.map(lambda n: api.post("/webhook/burst", json={"n": n}).status_code, range(40)))
    assert statuses == Counter({202: 4, 402: 36}), "1 left of the quota + 3 of grace; no 500, nothing dropped"
    assert execution_count() == 13


def test_the_gate_learns_executions_other_processes_ran_once_they_are_metered(configure, api, owner,
                                                                              create_workflow, held_queue):
    configure(BILLING_CACHE_SECONDS="0")  # re-read the database before every execution
    set_plan(executions_limit=3)
    workflow_id = create_workflow(owner, manual_flow())
    run = api.post(f"{WORKFLOWS}/{workflow_id}/run", json={}, headers=owner.headers)
    assert run.status_code == 202
    from backend.billing.metering import meter_event

    meter_event({"execution_id": run.json()["execution_id"], "team_id": owner.team_id, "mode": "manual"})
    for n in range(2):  # two executions another web process started, metered by the consumer
        meter_event({"execution_id": f"elsewhere{n}", "team_id": owner.team_id, "mode": "webhook"})
    assert api.post(f"{WORKFLOWS}/{workflow_id}/run", json={}, headers=owner.headers).status_code == 402
    assert execution_gate()._teams[owner.team_id].count == 3, "its own run is not counted twice"


def test_a_test_url_past_the_quota_is_a_402_and_the_editor_keeps_listening(configure, api, owner, create_workflow):
    from backend.webhooks.listeners import listen_for_test

    configure(BILLING_WEBHOOK_GRACE_PERCENT="100")  # production grace does not apply to test runs
    set_plan(executions_limit=1)
    definition = webhook_flow("try-me", respond="last_node")
    workflow_id = create_workflow(owner, definition)
    listen_for_test(workflow_id, definition)
    assert api.post("/webhook-test/try-me", json={}).status_code == 200
    listen_for_test(workflow_id, definition)
    refused = api.post("/webhook-test/try-me", json={})
    assert refused.status_code == 402 and refused.json()["error"]["details"]["limit"] == "executions"
    set_plan(executions_limit=2)
    from backend.billing.gate import execution_gate

    execution_gate().forget(owner.team_id)
    assert api.post("/webhook-test/try-me", json={}).status_code == 200, "the listener was not used up"
