"""Tracing end to end: the chart rendered with tracing on, its roles run locally (local_cluster.py), and
an OTLP receiver on loopback gets one connected trace for a webhook execution: the webhook request, the
queue hop (Dramatiq message options), the worker, each node, and the consumer of the execution's event
(Kafka record header). The worker's JSON log lines carry the same trace id."""

from __future__ import annotations

import json
import time
import uuid

import httpx
import pytest
import redis

from tests.deploy.conftest import CHART, run, tool
from tests.deploy.local_cluster import LocalCluster, free_port
from tests.deploy.otlp_receiver import OtlpReceiver, Span
from tests.deploy.test_smoke import PUBLIC_HOST, WEBHOOK_HOST, finished, secret_values, wait_for

CONSUMED = {"linkflow-webhook", "linkflow-worker"}  # the services whose spans the consumed events carry
ROLES = {"linkflow-api", "linkflow-webhook", "linkflow-worker", "linkflow-code-runner", "linkflow-consume-notifications"}
WORKFLOW = {"name": "Traced", "definition": {"nodes": [
    {"id": "hook", "name": "Hook", "type": "webhook", "position": [0, 0],
     "parameters": {"path": "traced", "method": "POST", "respond": "immediately"}},
    {"id": "set", "name": "Double", "type": "set", "position": [200, 0],
     "parameters": {"fields": [{"name": "doubled", "value": "{{ $json.body.n * 2 }}"}]}}],
    "connections": [{"from": "hook", "to": "set"}]}}


@pytest.fixture
def receiver():
    otlp = OtlpReceiver(free_port())
    yield otlp
    otlp.close()


@pytest.fixture
def cluster(infra, fresh_database, tmp_path, receiver):
    redis.Redis.from_url(infra["LINKFLOW_TEST_REDIS_URL"]).flushdb()
    values = tmp_path / "tracing-values.yaml"
    values.write_text(f"tracing: {{enabled: true, otlpEndpoint: '{receiver.url}', sampleRatio: '1.0'}}\n")
    rendered = run(tool("go", "bin", "helm"), "template", "linkflow", CHART, "-n", "linkflow", "-f", values)
    assert rendered.returncode == 0, rendered.stderr
    local = LocalCluster(
        rendered.stdout, workdir=tmp_path, only=ROLES,
        secrets=secret_values(fresh_database[0], infra["LINKFLOW_TEST_REDIS_URL"]),
        hosts={"linkflow-kafka-kafka-bootstrap:9092": infra["LINKFLOW_TEST_KAFKA_BOOTSTRAP"]},
        overrides={"LINKFLOW_EVENTS_TOPIC_PREFIX": f"trace{uuid.uuid4().hex[:8]}.",
                   "OTEL_BSP_SCHEDULE_DELAY": "200"})  # export every 200 ms instead of 5 s: a quicker test
    assert local.run_job("linkflow-migrations-1").returncode == 0
    try:
        local.start()
        local.wait_ready(timeout_s=120)
        yield local
    finally:
        local.stop()


def test_a_webhook_execution_is_one_connected_trace_across_the_roles(cluster, receiver):
    api = httpx.Client(base_url=cluster.roles["linkflow-api"].url(), headers={"host": PUBLIC_HOST}, timeout=30)
    token = api.post("/api/v1/auth/signup", json={"email": "trace@example.com", "password": "correct horse battery",
                                                  "name": "Trace"}).json()["access_token"]
    api.headers["authorization"] = f"Bearer {token}"
    workflow = api.post("/api/v1/workflows", json=WORKFLOW).json()
    assert api.post(f"/api/v1/workflows/{workflow['id']}/activate").status_code == 200
    answer = httpx.post(f"{cluster.roles['linkflow-webhook'].url()}/webhook/traced", json={"n": 4},
                        headers={"host": WEBHOOK_HOST}, timeout=30)
    assert answer.status_code == 202, answer.text
    execution_id = answer.json()["execution_id"]
    assert wait_for(lambda: finished(api, execution_id), 60, "the execution")["status"] == "succeeded"

    [intake] = wait_for(lambda: [s for s in receiver.spans if s.name == "POST /webhook/{path:path}"], 30,
                        "the webhook request's span")
    expected = {("linkflow-webhook", "POST /webhook/{path:path}"), ("linkflow-webhook", "send executions"),
                ("linkflow-worker", "process executions"), ("linkflow-worker", "execution"),
                ("linkflow-worker", "node Hook"), ("linkflow-worker", "node Double"),
                ("linkflow-consume-notifications", "consume execution.events")}
    try:
        spans = wait_for(lambda: complete(receiver.trace(intake.trace_id), expected), 90, "the whole trace")
    except AssertionError:  # say what was missing, and what each role logged, so a failed run can be read
        have = receiver.trace(intake.trace_id)
        missing = expected - {(s.service, s.name) for s in have}
        raise AssertionError(f"trace incomplete after 90 s: missing {sorted(missing)}, consumed events written "
                             f"by {sorted(consumed_from(have))} of {sorted(CONSUMED)}; spans: {sorted((s.service, s.name) for s in have)}\n"
                             + "\n".join(f"--- {name}:\n{cluster.tail(cluster.roles[name], 40)}"
                                         for name in ("linkflow-consume-notifications", "linkflow-worker"))) from None
    by_id = {s.span_id: s for s in spans}
    roots = [s for s in spans if s.parent_id not in by_id]
    assert roots == [intake] and intake.parent_id == ""  # one trace, one root: the webhook request
    parent = {s.name: by_id[s.parent_id].name for s in spans if s.parent_id in by_id}
    assert parent["send executions"] == "POST /webhook/{path:path}"  # the enqueue, in the request
    assert parent["process executions"] == "send executions"  # across Redis, in the message options
    assert parent["execution"] == "process executions"
    assert parent["node Hook"] == parent["node Double"] == "execution"
    # via Kafka: the queued event was written by the webhook request, the outcome by the worker
    assert consumed_from(spans) == CONSUMED
    assert by_id[intake.span_id].attributes["http.response.status_code"] == 202
    [worker_span] = [s for s in spans if s.name == "process executions"]
    assert worker_span.attributes["linkflow.execution_id"] == execution_id

    logged = worker_log_lines(cluster, execution_id)
    assert logged and {line["trace_id"] for line in logged} == {intake.trace_id}


def complete(spans: list[Span], expected: set[tuple[str, str]]) -> list[Span] | None:
    """Every expected span, and the consumer's spans of both events: the one the webhook request wrote and
    the worker's outcome (each consumer group of the notifications service makes its own)."""
    return spans if expected <= {(s.service, s.name) for s in spans} and consumed_from(spans) >= CONSUMED else None


def consumed_from(spans: list[Span]) -> set[str]:
    by_id = {s.span_id: s for s in spans}
    return {by_id[s.parent_id].service for s in spans if s.name == "consume execution.events" and s.parent_id in by_id}


def worker_log_lines(cluster, execution_id: str) -> list[dict]:
    deadline = time.monotonic() + 10
    while True:
        lines = [json.loads(line) for line in cluster.roles["linkflow-worker"].log.read_text().splitlines()
                 if line.startswith("{") and execution_id in line]
        if lines or time.monotonic() > deadline:
            return lines
        time.sleep(0.2)
