"""Retries, timeouts, on_error policies, the workflow timeout and the error-workflow hook."""

from __future__ import annotations

import random

import pytest
from engine_testkit import CALLS, chain, items, jsons, node, workflow

from backend.engine import InMemoryStepStore, RetrySettings
from backend.engine.retry import retry_delay_s


def flaky_workflow(failures: int, kind: str = "transient", **settings) -> dict:
    return workflow(node("S", "start"), node("F", "flaky", failures=failures, kind=kind, settings=settings),
                    node("After"), edges=chain("S", "F", "After"))


async def test_transient_errors_are_retried_with_fixed_waits(harness):
    result = await harness.run(flaky_workflow(2, retry={"max_tries": 3, "wait_ms": 250}))
    assert result.status == "succeeded"
    assert CALLS["F"] == 3 and harness.sleep.waits == [0.25, 0.25]


async def test_exponential_backoff_is_capped(harness):
    retry = {"max_tries": 5, "wait_ms": 100, "backoff": "exponential", "max_wait_ms": 300}
    store = InMemoryStepStore()
    result = await harness.run(flaky_workflow(4, retry=retry), store=store)
    assert result.status == "succeeded"
    assert harness.sleep.waits == [0.1, 0.2, 0.3, 0.3]
    assert store.steps[("f", 0)].attempts == 5


async def test_unexpected_errors_are_retried_too(harness):
    result = await harness.run(flaky_workflow(1, "unexpected", retry={"max_tries": 2, "wait_ms": 10}))
    assert result.status == "succeeded" and harness.sleep.waits == [0.01]


async def test_user_errors_are_not_retried(harness):
    result = await harness.run(flaky_workflow(1, "user", retry={"max_tries": 5}))
    assert result.status == "failed"
    assert CALLS["F"] == 1 and harness.sleep.waits == []
    assert result.error == {"node": "F", "message": "the input is wrong", "item_index": 1}
    assert result.nodes["F"]["error"]["retryable"] is False
    assert "After" not in result.nodes


async def test_when_retries_run_out_the_last_error_fails_the_run(harness):
    store = InMemoryStepStore()
    result = await harness.run(flaky_workflow(9, retry={"max_tries": 3, "wait_ms": 0}), store=store)
    assert result.status == "failed" and CALLS["F"] == 3
    step = store.steps[("f", 0)]
    assert step.status == "failed" and step.attempts == 3
    assert step.error == {"message": "service unavailable (503)", "type": "NodeTransientError",
                          "item_index": None, "retryable": True}


async def test_an_unexpected_error_names_its_type(harness):
    result = await harness.run(flaky_workflow(1, "unexpected"))
    assert result.error["message"] == "ZeroDivisionError: division by zero"


def test_jitter_takes_off_at_most_its_share():
    policy = RetrySettings(wait_ms=1000, jitter=0.25)
    waits = [retry_delay_s(policy, 1, random.Random(seed)) for seed in range(200)]
    assert all(0.75 <= w <= 1.0 for w in waits) and len(set(waits)) > 100
    full = RetrySettings(wait_ms=1000, jitter=True)
    assert min(retry_delay_s(full, 1, random.Random(s)) for s in range(200)) < 0.1


def test_jitter_must_be_a_fraction():
    with pytest.raises(ValueError, match="fraction between 0 and 1"):
        RetrySettings(jitter=1.5)


async def test_jittered_waits_are_deterministic_per_execution(harness):
    retry = {"max_tries": 3, "wait_ms": 1000, "jitter": 0.5}
    await harness.run(flaky_workflow(2, retry=retry))
    first = list(harness.sleep.waits)
    CALLS.clear()
    harness.sleep.waits.clear()
    await harness.run(flaky_workflow(2, retry=retry))
    assert harness.sleep.waits == first and all(0.5 <= w <= 1.0 for w in first) and first[0] != first[1]


async def test_a_node_timeout_is_transient_and_retried(harness):
    definition = workflow(node("S", "start"), node("Slow", "sleepy", seconds=5,
                                                   settings={"timeout_s": 0.01, "retry": {"max_tries": 2}}),
                          edges=["S -> Slow"])
    result = await harness.run(definition)
    assert result.status == "failed" and CALLS["Slow"] == 2 and len(harness.sleep.waits) == 1
    assert result.error["message"] == "timed out after 0.01 s (settings.timeout_s)"


async def test_continue_passes_the_input_on_with_the_error(harness):
    definition = flaky_workflow(9, "user", on_error="continue")
    result = await harness.run(definition, items({"n": 1}))
    assert result.status == "succeeded"
    assert result.nodes["F"]["status"] == "succeeded"
    assert result.nodes["F"]["error"]["message"] == "the input is wrong"
    assert jsons(result.output) == [{"n": 1, "error": "the input is wrong"}]


async def test_error_output_sends_failed_items_to_the_error_port(harness):
    definition = workflow(
        node("S", "start"), node("F", "flaky", failures=9, kind="user", settings={"on_error": "error_output"}),
        node("Ok"), node("Handle", y=100),
        edges=["S -> F", "F -> Ok", "F:error -> Handle"])
    result = await harness.run(definition, items({"n": 1}, {"n": 2}))
    assert result.status == "succeeded"
    assert result.nodes["Ok"]["status"] == "skipped"
    assert result.nodes["F"]["outputs"]["error"][0]["json"] == {
        "n": 1, "error": {"message": "the input is wrong", "type": "NodeUserError", "item_index": 1}}
    assert len(result.nodes["Handle"]["items"]) == 2


async def test_the_error_workflow_hook_gets_the_failure(harness):
    definition = flaky_workflow(9, "user")
    definition["settings"]["error_workflow_id"] = "wf-errors"
    result = await harness.run(definition, execution_id="exec-9", mode="webhook")
    assert result.status == "failed"
    assert harness.error_workflows == [("wf-errors", {
        "execution_id": "exec-9", "workflow": {"id": "wf-1", "name": "test"},
        "error": {"node": "F", "message": "the input is wrong"}, "mode": "webhook"})]


async def test_no_error_workflow_for_successes_or_for_error_workflows_themselves(harness):
    definition = flaky_workflow(9, "user")
    definition["settings"]["error_workflow_id"] = "wf-errors"
    await harness.run(definition, mode="error")
    CALLS.clear()
    await harness.run(flaky_workflow(0) | {"settings": {"error_workflow_id": "wf-errors"}})
    assert harness.error_workflows == []


async def test_a_broken_error_hook_does_not_hide_the_failure(harness):
    async def broken(workflow_id, payload):
        raise RuntimeError("queue down")

    harness.services.run_error_workflow = broken
    definition = flaky_workflow(9, "user")
    definition["settings"]["error_workflow_id"] = "wf-errors"
    result = await harness.run(definition)
    assert result.status == "failed" and result.error["node"] == "F"


async def test_the_workflow_timeout_stops_the_run(harness):
    definition = workflow(node("S", "start"), node("Slow", "sleepy", seconds=5), node("After"),
                          edges=chain("S", "Slow", "After"), timeout_s=0.05)
    store = InMemoryStepStore()
    result = await harness.run(definition, store=store)
    assert result.status == "failed"
    assert result.error["node"] == "Slow"
    assert "ran longer than its timeout of 0.05 s" in result.error["message"]
    assert store.steps[("slow", 0)].status == "failed" and ("after", 0) not in store.steps
