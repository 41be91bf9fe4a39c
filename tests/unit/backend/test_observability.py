"""Metrics the dashboards read, the ops listener of the roles without HTTP, and tracing off by default."""

from __future__ import annotations

import io
import json
import logging

import httpx
import pytest
from prometheus_client import REGISTRY

from backend import logging as lf_logging
from backend import metrics, ops_server, tracing
from backend.app import create_app
from backend.db import migrate
from backend.engine.runner import run_sync
from backend.events.outbox import emit
from backend.settings import get_settings
from backend.tracing import TracingMiddleware
from executors.broker import make_broker
from executors.tracing import DramatiqTracing
from tests.deploy.local_cluster import free_port


def sample(name: str, **labels) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def test_an_engine_run_counts_its_outcome_its_duration_and_each_step():
    before = (sample("linkflow_execution_runs_total", status="succeeded", mode="manual"),
              sample("linkflow_steps_total", node_type="set", status="succeeded"),
              sample("linkflow_step_duration_seconds_count", node_type="set"))
    result = run_sync({"nodes": [
        {"id": "t", "name": "Start", "type": "manual_trigger", "position": [0, 0]},
        {"id": "s", "name": "Set", "type": "set", "position": [200, 0],
         "parameters": {"fields": [{"name": "x", "value": "1"}]}}], "connections": [{"from": "t", "to": "s"}]})
    assert result.status == "succeeded"
    after = (sample("linkflow_execution_runs_total", status="succeeded", mode="manual"),
             sample("linkflow_steps_total", node_type="set", status="succeeded"),
             sample("linkflow_step_duration_seconds_count", node_type="set"))
    assert [a - b for a, b in zip(after, before, strict=True)] == [1, 1, 1]
    assert sample("linkflow_executions_in_progress") == 0


def test_the_backlog_is_read_from_the_database_at_scrape_time():
    migrate.upgrade(get_settings().database_url)
    families = {f.name: f for f in metrics.DatabaseCollector().collect()}
    assert {"linkflow_executions_active", "linkflow_queue_depth", "linkflow_queue_oldest_age_seconds",
            "linkflow_outbox_backlog", "linkflow_outbox_oldest_age_seconds"} <= set(families)
    assert families["linkflow_queue_depth"].samples[0].value == 0


def test_the_ops_listener_answers_health_ready_and_metrics(configure):
    port = free_port()
    configure(METRICS_PORT=str(port))
    migrate.upgrade(get_settings().database_url)
    server = ops_server.start("scheduler")
    try:
        base = f"http://127.0.0.1:{port}"
        assert httpx.get(f"{base}/health").json() == {"status": "ok"}
        ready = httpx.get(f"{base}/ready")
        assert ready.status_code == 200 and ready.json()["checks"] == {"database": "ok"}
        assert "linkflow_db_pool_connections" in httpx.get(f"{base}/metrics").text
        assert httpx.get(f"{base}/nope").status_code == 404
    finally:
        server.shutdown()
        server.server_close()


def test_the_ops_listener_is_off_unless_a_port_is_set():
    assert ops_server.start("worker") is None


def test_a_worker_is_not_ready_while_its_code_sandbox_is_not(configure):
    configure(CODE_SANDBOX="remote", CODE_RUNNER_URL="http://127.0.0.1:9")
    assert set(ops_server.role_checks("worker")) == {"database", "code_sandbox"}
    assert set(ops_server.role_checks("scheduler")) == {"database"}


def test_tracing_is_off_by_default_and_installs_nothing(monkeypatch):
    assert get_settings().tracing.enabled is False
    app = create_app()
    assert TracingMiddleware not in [m.cls for m in app.user_middleware]
    assert not any(isinstance(m, DramatiqTracing) for m in make_broker(get_settings()).middleware)
    assert tracing.tracer() is None and tracing.traceparent() is None


def test_with_tracing_off_events_and_log_lines_carry_no_trace():
    stream = io.StringIO()
    lf_logging.configure("INFO", "json", stream)
    logging.getLogger("linkflow.test").info("hello")
    assert "trace_id" not in json.loads(stream.getvalue())

    class Recorder:
        def execute(self, _statement, params):
            self.params = params

    recorder = Recorder()
    deleted = {"type": "workflow.deleted", "workflow_id": "w1", "team_id": "t1"}
    emit(recorder, "workflow.events", "w1", deleted)
    assert recorder.params["payload"] == deleted


def test_logs_without_a_stream_go_to_stdout_as_it_is_when_logged(monkeypatch):
    """The handler follows sys.stdout: one replaced (and closed) after configure() must not break logging."""
    first, second = io.StringIO(), io.StringIO()
    monkeypatch.setattr("sys.stdout", first)
    lf_logging.configure("INFO", "json")
    monkeypatch.setattr("sys.stdout", second)
    first.close()
    logging.getLogger("linkflow.test").info("after")
    assert json.loads(second.getvalue())["msg"] == "after"


@pytest.fixture
def traced(configure, monkeypatch):
    """Tracing on, into an in-memory exporter (the OTLP path is tested end to end in tests/deploy)."""
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    exporter, provider = InMemorySpanExporter(), TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    monkeypatch.setattr(tracing, "_tracer", provider.get_tracer("test"))
    return exporter


def test_with_tracing_on_a_log_line_and_an_event_carry_the_current_trace(traced):
    stream = io.StringIO()
    lf_logging.configure("INFO", "json", stream)
    with tracing.tracer().start_as_current_span("work") as span:
        logging.getLogger("linkflow.test").info("inside")
        parent = tracing.traceparent()
    line = json.loads(stream.getvalue())
    assert line["trace_id"] == format(span.get_span_context().trace_id, "032x")
    assert parent.split("-")[1] == line["trace_id"]


def test_request_metrics_are_labelled_by_the_full_route_template():
    from fastapi.testclient import TestClient

    migrate.upgrade(get_settings().database_url)
    with TestClient(create_app()) as client:
        client.post("/webhook/no-such-hook", json={})
        client.get("/api/v1/workflows/abc123")
        text = client.get("/metrics").text
    assert 'route="/webhook/{path:path}",status="404"' in text  # not "other": the dashboards read this
    assert 'route="/api/v1/workflows/{workflow_id}",status="401"' in text  # the router's prefix kept, no ids


async def test_a_batch_handled_by_a_consumer_gives_each_event_its_consumer_span(traced):
    """Consumers that take batches (analytics, notifications, search, billing) still show every event they
    handled in its trace: one `consume <topic>` span per event, a child of the span that wrote it."""
    import asyncio

    from backend.events.bus import Event, InMemoryBus
    from backend.events.consumers import Consumer, RetryPolicy, run_consumer

    with tracing.tracer().start_as_current_span("webhook") as writer:
        parent = tracing.traceparent()
    handled: list[int] = []

    async def bulk(events):
        handled.extend(e.event_id for e in events)
        return {}

    bus, stop = InMemoryBus(), asyncio.Event()
    task = asyncio.create_task(run_consumer(bus, Consumer("notifications", ("workflow.events",), bulk, bulk), stop,
                                            RetryPolicy(first_delay_s=0)))
    await asyncio.sleep(0)
    events = [Event("workflow.events", "w1", {"type": "workflow.deleted", "workflow_id": "w1", "team_id": "t1",
                                              "event_id": i, "traceparent": parent}) for i in (1, 2)]
    await bus.publish(events)
    stop.set()
    await asyncio.wait_for(task, 5)
    assert handled == [1, 2]
    consumed = [s for s in traced.get_finished_spans() if s.name == "consume workflow.events"]
    assert sorted(s.attributes["linkflow.event_id"] for s in consumed) == ["1", "2"]
    assert {s.parent.span_id for s in consumed} == {writer.get_span_context().span_id}


def test_fastapis_own_telemetry_stays_off_even_with_a_global_tracer_provider(monkeypatch):
    """LinkFlow traces requests itself (TracingMiddleware): FastAPI's native spans would be a second set,
    and checking for them read os.environ on every request."""
    from opentelemetry import trace
    from opentelemetry.sdk.trace import TracerProvider

    monkeypatch.setattr(trace, "get_tracer_provider", lambda: TracerProvider())
    app = create_app()
    assert not app._native_telemetry.enabled()
