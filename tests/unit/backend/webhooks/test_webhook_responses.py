"""What the caller gets back, and what is saved, for each response mode and outcome."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import select
from webhook_testkit import execution_count, executions, flow, hook, node

from backend.db.session import session_scope
from backend.events.models import OutboxEvent
from backend.events.packed import events_of_row
from backend.executions.models import Execution, ExecutionStep
from backend.executions.sql_store import resolve_payload
from backend.webhooks import runs

DOUBLE = node("set", "Double", "set", 1, keep_only_set=True, fields=[
    {"name": "double", "value": "{{ $json.body.n * 2 }}"},
    {"name": "greeting", "value": '{{ "hello " + $json.body.name }}'}])


def steps_of(execution_id: str) -> list[ExecutionStep]:
    with session_scope() as session:
        return list(session.scalars(select(ExecutionStep).where(ExecutionStep.execution_id == execution_id)
                                    .order_by(ExecutionStep.started_at)))


def test_immediately_commits_the_execution_before_answering_202(api, deploy, held_queue):
    workflow_id = deploy(flow(hook("orders", respond="immediately"), DOUBLE))
    response = api.post("/webhook/orders", json={"n": 2, "name": "Ada"})
    assert response.status_code == 202
    execution_id = response.json()["execution_id"]
    [execution] = executions()
    assert (execution.id, execution.status, execution.mode, execution.workflow_id) == (
        execution_id, "queued", "webhook", workflow_id)
    assert execution.input[0]["json"]["body"] == {"n": 2, "name": "Ada"}
    assert held_queue == [execution_id]  # handed to the queue only after the commit


def test_immediately_runs_on_the_queue(api, deploy, inline_worker):
    deploy(flow(hook("orders", respond="immediately"), DOUBLE))
    execution_id = api.post("/webhook/orders", json={"n": 2, "name": "Ada"}).json()["execution_id"]
    [execution] = executions()
    assert execution.id == execution_id and execution.status == "succeeded"
    assert execution.output == [{"json": {"double": 4, "greeting": "hello Ada"}}]


def test_last_node_answers_with_its_first_item_and_saves_everything(api, deploy):
    workflow_id = deploy(flow(hook("orders"), DOUBLE))
    response = api.post("/webhook/orders", json={"n": 21, "name": "Bob"})
    assert response.status_code == 200
    assert response.json() == {"double": 42, "greeting": "hello Bob"}
    [execution] = executions()
    assert (execution.status, execution.mode, execution.workflow_id, execution.attempts) == (
        "succeeded", "webhook", workflow_id, 1)
    assert execution.version_id is not None and execution.finished_at is not None
    assert execution.definition["nodes"][0]["type"] == "webhook"
    steps = steps_of(execution.id)
    assert [(s.node_id, s.status) for s in steps] == [("hook", "succeeded"), ("set", "succeeded")]
    assert steps[1].output == {"main": [{"json": {"double": 42, "greeting": "hello Bob"}}]}
    with session_scope() as session:  # one packed row of the group commit: the relay publishes its events
        rows = session.execute(select(OutboxEvent.key, OutboxEvent.payload)
                               .where(OutboxEvent.topic == "execution.events")).all()
    events = [(key, event) for row in rows for key, event in events_of_row(row.key, row.payload)]
    assert [(key, event["type"], event["execution_id"], event["status"]) for key, event in events] == [
        (execution.id, "execution.succeeded", execution.id, "succeeded")]


def test_save_data_none_answers_without_saving(api, deploy):
    deploy(flow(hook("orders"), DOUBLE, settings={"save_data": "none"}))
    response = api.post("/webhook/orders", json={"n": 1, "name": "C"})
    assert response.json() == {"double": 2, "greeting": "hello C"}
    assert execution_count() == 0


def test_save_data_errors_saves_only_failures(api, deploy):
    deploy(flow(hook("orders"), DOUBLE, settings={"save_data": "errors"}))
    assert api.post("/webhook/orders", json={"n": 1, "name": "C"}).status_code == 200
    assert execution_count() == 0
    assert api.post("/webhook/orders", json={"n": "x", "name": []}).status_code == 500
    assert [e.status for e in executions()] == ["failed"]


def test_respond_node_sets_status_headers_and_body(api, deploy):
    respond = node("respond", "Respond", "respond_to_webhook", 2, status=201, body_type="json",
                   headers={"X-Order": "{{ $json.double }}"}, body={"created": "{{ $json.greeting }}"})
    deploy(flow(hook("orders", respond="respond_node"), DOUBLE, respond))
    response = api.post("/webhook/orders", json={"n": 5, "name": "Dee"})
    assert response.status_code == 201
    assert response.headers["x-order"] == "10"
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {"created": "hello Dee"}


def test_respond_node_with_text(api, deploy):
    respond = node("respond", "Respond", "respond_to_webhook", 1, status=418, body_type="text", body="teapot")
    deploy(flow(hook("tea", respond="respond_node"), respond))
    response = api.post("/webhook/tea", json={})
    assert (response.status_code, response.text) == (418, "teapot")
    assert response.headers["content-type"].startswith("text/plain")


def test_a_failed_run_answers_500_with_only_the_execution_id(api, deploy):
    stop = node("stop", "Stop", "stop_and_error", 1, message="secret internals {{ $json.body.token }}")
    deploy(flow(hook("orders"), stop))
    response = api.post("/webhook/orders", json={"token": "tok_123"})
    assert response.status_code == 500
    [execution] = executions()
    assert response.json() == {"error": {
        "code": "execution_failed", "message": f"the workflow failed; see execution {execution.id}",
        "details": {"execution_id": execution.id}}}
    assert "tok_123" not in response.text and "internals" not in response.text
    assert execution.status == "failed" and "tok_123" in execution.error["message"]


def test_a_run_past_its_timeout_answers_504(api, deploy, slow_server):
    server = slow_server(1.0)
    call = node("call", "Call", "http_request", 1, url=server.url)
    deploy(flow(hook("slow"), call, settings={"timeout_s": 0.2}))
    response = api.post("/webhook/slow", json={})
    assert response.status_code == 504
    [execution] = executions()
    assert response.json()["error"]["code"] == "execution_timeout"
    assert response.json()["error"]["details"] == {"execution_id": execution.id}
    assert execution.status == "failed"


def test_a_long_run_becomes_durable_while_it_runs(api, deploy, slow_server, monkeypatch):
    monkeypatch.setattr(runs, "INLINE_BUDGET_S", 0.05)
    server = slow_server(0.6)

    def saved() -> tuple | None:
        with session_scope() as session:
            execution = session.scalars(select(Execution)).one_or_none()
            if execution is None:
                return None
            steps = session.scalars(select(ExecutionStep.node_id)
                                    .where(ExecutionStep.execution_id == execution.id)).all()
            return execution.status, execution.lease_owner == runs.WEB_WORKER_ID, steps

    def saved_while_running():
        # The server holds the Call node's request meanwhile, so the run cannot go past it: what is seen here
        # was written while the run was still running. Polled, not read once at delay_s / 2: the spill is due
        # 0.05 s into the run, but on a loaded machine its commit may land later than 0.3 s after the request.
        deadline = time.monotonic() + 10
        while (seen := saved()) != ("running", True, ["hook"]) and time.monotonic() < deadline:
            time.sleep(0.02)
        return seen

    server.during = saved_while_running
    deploy(flow(hook("slow"), node("call", "Call", "http_request", 1, url=server.url)))
    response = api.post("/webhook/slow", json={})
    assert response.status_code == 200 and response.json()["body"] == {"slow": True}
    assert server.seen == [("running", True, ["hook"])]
    [execution] = executions()
    assert execution.status == "succeeded" and execution.lease_owner is None
    assert [s.node_id for s in steps_of(execution.id)] == ["hook", "call"]


@pytest.mark.parametrize("respond", ["last_node", "respond_node"])
def test_the_answer_comes_from_the_last_node_that_sent_items(api, deploy, respond):
    nothing = node("filter", "Nothing", "filter", 1, conditions=[{"left": 1, "operation": "equals", "right": 2}])
    deploy(flow(hook("empty", respond=respond), nothing))
    response = api.post("/webhook/empty", json={"kept": True})
    assert response.status_code == 200
    assert response.json()["body"] == {"kept": True}  # the Webhook node's item: the filter sent none


def test_step_data_past_the_inline_limit_is_kept_in_a_file(api, deploy, configure):
    deploy(flow(hook("big"), DOUBLE))
    configure(STORAGE_INLINE_LIMIT_BYTES="300")
    response = api.post("/webhook/big", json={"n": 1, "name": "x" * 500})
    assert response.json()["greeting"] == "hello " + "x" * 500
    [execution] = executions()
    hook_step = next(s for s in steps_of(execution.id) if s.node_id == "hook")
    assert hook_step.output is None and hook_step.output_ref
    assert resolve_payload(hook_step.output, hook_step.output_ref)["main"][0]["json"]["body"]["name"] == "x" * 500


def test_a_text_where_a_number_belongs_fails_the_run_and_the_caller_gets_500(api, deploy):
    """Issue #12: {"qty": "x"} once answered 200 with "xxxxxxx" (Python's string repetition)."""
    total = node("set", "Total", "set", 1, keep_only_set=True, fields=[
        {"name": "total", "value": "{{ $json.body.qty * $json.body.price }}"}])
    deploy(flow(hook("orders"), total))
    assert api.post("/webhook/orders", json={"qty": 3, "price": 7}).json() == {"total": 21}
    response = api.post("/webhook/orders", json={"qty": "x", "price": 7})
    assert response.status_code == 500
    assert response.json()["error"]["code"] == "execution_failed"
    failed = executions(status="failed")
    assert len(failed) == 1
    message = failed[0].error["message"]
    assert '`$json.body.qty` is the text "x" in item 0; multiplying needs numbers' in message
    assert "unsupported operand" not in message and message.count("item 0") == 1
