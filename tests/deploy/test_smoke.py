"""The manifest smoke test: the chart, rendered as an operator would install it, run as local processes.

Every Deployment starts from its own command and env (deploy/deploy tests/deploy/local_cluster.py says
what is translated) against the loopback PostgreSQL, Redis and Kafka; each must pass its own
readinessProbe. Then a webhook call through the rendered webhook role runs on the rendered worker, whose
Code node runs on the rendered code-runner, and the audit trail written by the rendered audit consumer
(from Kafka) shows the workflow's creation.
"""

from __future__ import annotations

import base64
import os
import secrets
import time
import uuid

import httpx
import pytest
import redis

from tests.deploy.conftest import render
from tests.deploy.local_cluster import LocalCluster

PUBLIC_HOST, WEBHOOK_HOST = "linkflow.example.com", "hooks.linkflow.example.com"


def secret_values(database_url: str, redis_url: str) -> dict[str, str]:
    """What the Secret `linkflow` holds in a cluster, made up for this run."""
    return {"database-url": database_url, "redis-url": redis_url, "secret-key": secrets.token_urlsafe(48),
            "vault-keys": "smoke:" + base64.b64encode(os.urandom(32)).decode()}


@pytest.fixture
def cluster(infra, fresh_database, tmp_path):
    redis.Redis.from_url(infra["LINKFLOW_TEST_REDIS_URL"]).flushdb()
    rendered = render("default")
    local = LocalCluster(
        rendered, workdir=tmp_path,
        secrets=secret_values(fresh_database[0], infra["LINKFLOW_TEST_REDIS_URL"]),
        hosts={"linkflow-kafka-kafka-bootstrap:9092": infra["LINKFLOW_TEST_KAFKA_BOOTSTRAP"]},
        # one topic prefix per run: the loopback broker is shared with other tests
        overrides={"LINKFLOW_EVENTS_TOPIC_PREFIX": f"smoke{uuid.uuid4().hex[:8]}."})
    migrations = local.run_job("linkflow-migrations-1")
    assert migrations.returncode == 0, migrations.stderr[-3000:]
    try:
        local.start()
        yield local
    finally:
        local.stop()


WORKFLOW = {"name": "Smoke", "definition": {"nodes": [
    {"id": "hook", "name": "Hook", "type": "webhook", "position": [0, 0],
     "parameters": {"path": "smoke", "method": "POST", "respond": "immediately"}},
    {"id": "code", "name": "Double", "type": "code", "position": [200, 0],
     "parameters": {"code": "return [{'doubled': items[0]['json']['body']['n'] * 2}]"}}],
    "connections": [{"from": "hook", "to": "code"}]}}


def test_every_role_passes_its_readiness_probe_and_a_webhook_runs_on_the_worker(cluster):
    ready = cluster.wait_ready(timeout_s=180)
    # only the UI's start-up build may need a second try on a starved machine; any other restart is a bug
    assert {name for name, role in cluster.roles.items() if role.restarts} <= {"linkflow-ui"}
    assert set(ready) == {f"linkflow-{r}" for r in ("api", "webhook", "ui", "worker", "code-runner", "scheduler",
                                                     "consume-audit", "consume-notifications")}
    api = httpx.Client(base_url=cluster.roles["linkflow-api"].url(), headers={"host": PUBLIC_HOST}, timeout=30)
    signup = api.post("/api/v1/auth/signup", json={"email": "ops@example.com", "password": "correct horse battery",
                                                   "name": "Ops"})
    assert signup.status_code in (200, 201), signup.text
    api.headers["authorization"] = f"Bearer {signup.json()['access_token']}"
    workflow = api.post("/api/v1/workflows", json=WORKFLOW)
    assert workflow.status_code == 201, workflow.text
    activated = api.post(f"/api/v1/workflows/{workflow.json()['id']}/activate")
    assert activated.status_code == 200, activated.text

    webhook = httpx.post(f"{cluster.roles['linkflow-webhook'].url()}/webhook/smoke", json={"n": 21},
                         headers={"host": WEBHOOK_HOST}, timeout=30)
    assert webhook.status_code == 202, webhook.text
    execution_id = webhook.json()["execution_id"]
    execution = wait_for(lambda: finished(api, execution_id), 60, f"execution {execution_id} to finish")
    assert execution["status"] == "succeeded", execution
    assert execution["output"] == [{"json": {"doubled": 42}}]

    # the audit consumer role read the event from Kafka and wrote the trail the api role serves
    trail = wait_for(lambda: audit_actions(api) & {"workflow.create"}, 60, "the audit consumer")
    assert trail == {"workflow.create"}
    # the worker's ops listener serves the metrics the dashboards read
    metrics = httpx.get(cluster.roles["linkflow-worker"].probe_url("readinessProbe").replace("/ready", "/metrics"))
    assert 'linkflow_steps_total{node_type="code",status="succeeded"} 1.0' in metrics.text
    # the audit consumer reports its lag per partition, and has caught up
    audit = cluster.roles["linkflow-consume-audit"].probe_url("readinessProbe").replace("/ready", "/metrics")
    lags = [line for line in httpx.get(audit).text.splitlines()
            if line.startswith('linkflow_kafka_consumer_lag{group="audit"')]
    assert lags and all(line.endswith(" 0.0") for line in lags), lags


def finished(api: httpx.Client, execution_id: str) -> dict | None:
    answer = api.get(f"/api/v1/executions/{execution_id}").json()
    return answer if answer.get("status") in ("succeeded", "failed", "cancelled") else None


def audit_actions(api: httpx.Client) -> set[str]:
    return {entry["action"] for entry in api.get("/api/v1/audit").json().get("items", [])}


def wait_for(predicate, timeout_s: float, what: str):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.5)
    raise AssertionError(f"timed out after {timeout_s} s waiting for {what}")
