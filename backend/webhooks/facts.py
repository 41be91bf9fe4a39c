"""What a webhook request tells the event topics: an entry of `webhook.answered` on webhook.events and,
when it started an execution, of `trigger.fired` on workflow.triggers. Method, registered path, status,
latency and sizes only: never bodies, headers, query strings or secrets. Written off the request path,
one event per workflow for the requests of one moment (backend/events/deferred.py)."""

from __future__ import annotations

import time

from backend.events.deferred import emit_soon

METHODS = frozenset({"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"})
MAX_PATH_CHARS = 300


def answered(*, team_id: str, workflow_id: str, node_id: str, mode: str, method: str, path: str, status: int,
             started: float, request_bytes: int, response_bytes: int, execution_id: str | None) -> None:
    latency_us = max(int((time.perf_counter() - started) * 1_000_000), 0)
    node_id = node_id[:200]
    head = (("type", "webhook.answered"), ("workflow_id", workflow_id), ("team_id", team_id), ("node_id", node_id),
            ("mode", mode), ("method", method if method in METHODS else "GET"), ("path", path[:MAX_PATH_CHARS]))
    emit_soon("webhook.events", workflow_id, head, "requests",  # packed: backend/events/packed.py ANSWERED
              [execution_id, status, latency_us, request_bytes, response_bytes, time.time_ns() // 1000 - latency_us])
    if execution_id is not None:
        head = (("type", "trigger.fired"), ("workflow_id", workflow_id), ("team_id", team_id),
                ("kind", "test" if mode == "test" else "webhook"), ("node_id", node_id))
        emit_soon("workflow.triggers", workflow_id, head, "firings", [execution_id])
