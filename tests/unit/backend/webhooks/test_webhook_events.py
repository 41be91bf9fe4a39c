"""The events a webhook request produces: webhook.answered (never the body, headers or query), the
trigger firing, the run's node results and its usage fact, each valid under its schema. Scaled out (Kafka)
every topic is written; on the in-process bus of `linkflow up`, only the topics a consumer reads."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import select
from webhook_testkit import executions, flow, hook, node

from backend.db.session import session_scope
from backend.events import deferred, schemas
from backend.events import outbox as outbox_module
from backend.events.models import OutboxEvent
from backend.events.packed import unpack  # the relay expands hot-path rows before checking them
from backend.events.topics import TOPICS
from backend.settings import get_settings

DOUBLE = node("set", "Double", "set", 1, keep_only_set=True, fields=[{"name": "double", "value": "{{ $json.body.n * 2 }}"}])


def outbox(topic: str, count: int, timeout_s: float = 5) -> list[OutboxEvent]:
    """The topic's outbox rows once there are `count` (deferred events follow their request by ~0.2 s)."""
    deadline = time.monotonic() + timeout_s
    while True:
        with session_scope() as session:
            rows = list(session.scalars(select(OutboxEvent).where(OutboxEvent.topic == topic).order_by(OutboxEvent.id)))
        if len(rows) >= count or time.monotonic() > deadline:
            return rows
        time.sleep(0.05)


@pytest.fixture
def every_topic_read(monkeypatch):
    """As on Kafka, where consumers outside LinkFlow may read any topic: every topic is written."""
    monkeypatch.setattr(outbox_module, "_read_topics", lambda: frozenset(TOPICS))


@pytest.mark.usefixtures("every_topic_read")
def test_an_answered_webhook_reports_method_path_status_latency_and_sizes_only(api, deploy, team):
    workflow_id = deploy(flow(hook("orders/:id"), DOUBLE))
    body = b'{"n": 21, "password": "hunter2"}'
    response = api.post("/webhook/orders/77?token=s3cret", content=body,
                        headers={"content-type": "application/json", "authorization": "Bearer xyz"})
    assert response.status_code == 200
    [answered] = outbox("webhook.events", 1)
    event = schemas.validate(answered.topic, answered.key, unpack(answered.payload))
    assert answered.key == workflow_id and event.team_id == team.team_id
    [request] = event.requests
    assert (request.method, request.path, request.status, request.mode) == ("POST", "orders/:id", 200, "webhook")
    assert request.request_bytes == len(body) and request.response_bytes == len(response.content)
    assert 0 < request.latency_ms < 10_000
    text = str(unpack(answered.payload))
    assert all(secret not in text for secret in ("hunter2", "s3cret", "Bearer", "password", "token"))
    [fired] = outbox("workflow.triggers", 1)
    assert unpack(fired.payload)["firings"] == [{"execution_id": request.execution_id, "kind": "webhook", "node_id": "hook"}]


@pytest.mark.usefixtures("every_topic_read")
def test_a_refused_webhook_is_reported_with_its_status_and_starts_nothing(api, deploy):
    deploy(flow(hook("locked", auth="header", header_name="x-key", header_value="right"), DOUBLE))
    assert api.post("/webhook/locked", json={"n": 1}, headers={"x-key": "wrong"}).status_code == 401
    [answered] = outbox("webhook.events", 1)
    [request] = unpack(answered.payload)["requests"]
    assert request["status"] == 401 and request["execution_id"] is None
    assert outbox("workflow.triggers", 0, timeout_s=0.5) == []


@pytest.mark.usefixtures("every_topic_read")
def test_an_inline_run_writes_its_node_results_and_usage_with_its_status(api, deploy, team):
    deploy(flow(hook("orders"), DOUBLE))
    assert api.post("/webhook/orders", json={"n": 2}).status_code == 200
    [execution] = executions()
    [results] = outbox("execution.results", 1)
    [usage] = outbox("analytics.events", 1)
    [run] = schemas.validate(results.topic, results.key, unpack(results.payload)).runs
    nodes = run.nodes
    assert [(n.node_name, n.status, n.items_in, n.items_out) for n in nodes] == [
        ("Webhook", "succeeded", 1, 1), ("Double", "succeeded", 1, 1)]
    assert "2" not in str([n.error for n in nodes])  # counts, never items
    event = schemas.validate(usage.topic, usage.key, unpack(usage.payload))
    [fact] = event.executions
    assert (fact.status, fact.mode, fact.nodes, fact.items, event.team_id) == ("succeeded", "webhook", 2, 1,
                                                                              team.team_id)
    assert fact.duration_ms is not None and fact.duration_ms >= 0
    assert fact.execution_id == run.execution_id == execution.id
    assert results.key == usage.key == execution.workflow_id


def test_a_run_that_saves_nothing_still_counts_in_insights(api, deploy, team):
    workflow_id = deploy(flow(hook("quiet"), DOUBLE, settings={"save_data": "none"}))
    for n in range(3):
        assert api.post("/webhook/quiet", json={"n": n}).status_code == 200
    assert executions() == []
    deadline = time.monotonic() + 5
    while True:  # the facts follow their requests in the loop's next batches
        usage = outbox("analytics.events", 1)
        facts = [fact for row in usage for fact in schemas.validate(row.topic, row.key, unpack(row.payload)).executions]
        if len(facts) >= 3 or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert len(facts) == 3 and {f.status for f in facts} == {"succeeded"}
    assert {row.key for row in usage} == {workflow_id}
    assert outbox("execution.results", 0, timeout_s=0.3) == []  # no steps kept, no node results


def test_on_the_in_process_bus_only_the_topics_a_consumer_reads_are_written(api, deploy):
    """`linkflow up` has no consumer of node results, webhook requests or trigger firings: the relay would read,
    check and publish those rows to nobody. Its status and usage events are written as ever."""
    assert get_settings().events.backend == "memory"
    deploy(flow(hook("orders"), DOUBLE))
    assert api.post("/webhook/orders", json={"n": 2}).status_code == 200
    [execution] = executions()
    assert [unpack(row.payload)["type"] for row in outbox("analytics.events", 1)] == ["usage.executions"]
    assert outbox("execution.events", 1) != []
    assert outbox_module.nobody_reads("execution.results") and not outbox_module.nobody_reads("execution.events")
    time.sleep(deferred.FLUSH_AFTER_S * 3)  # the deferred batch of the request has been written by now
    with session_scope() as session:
        topics = set(session.scalars(select(OutboxEvent.topic)))
    assert not topics & {"execution.results", "webhook.events", "workflow.triggers"}, execution.id
    assert {"execution.events", "analytics.events"} <= topics
