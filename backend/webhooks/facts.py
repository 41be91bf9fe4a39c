"""What a webhook request tells the event topics: an entry of `webhook.answered` on webhook.events and,
when it started an execution, of `trigger.fired` on workflow.triggers. Method, registered path, status,
latency and sizes only: never bodies, headers, query strings or secrets. Written off the request path,
one event per workflow for the requests of one moment (backend/events/deferred.py)."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

from backend.events.deferred import emit_soon

METHODS = frozenset({"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"})
MAX_PATH_CHARS = 300


def answered(*, team_id: str, workflow_id: str, node_id: str, mode: str, method: str, path: str, status: int,
             started: float, request_bytes: int, response_bytes: int, execution_id: str | None) -> None:
    latency_s = max(time.perf_counter() - started, 0.0)
    received_at = datetime.now(UTC) - timedelta(seconds=latency_s)
    node_id = node_id[:200]
    emit_soon("webhook.events", workflow_id, {"type": "webhook.answered", "workflow_id": workflow_id,
                                              "team_id": team_id}, "requests", {
        "node_id": node_id, "execution_id": execution_id, "mode": mode,
        "method": method if method in METHODS else "GET", "path": path[:MAX_PATH_CHARS], "status": status,
        "latency_ms": round(latency_s * 1000, 3), "request_bytes": request_bytes, "response_bytes": response_bytes,
        "received_at": received_at.isoformat()})
    if execution_id is not None:
        emit_soon("workflow.triggers", workflow_id, {"type": "trigger.fired", "workflow_id": workflow_id,
                                                     "team_id": team_id}, "firings", {
            "execution_id": execution_id, "kind": "test" if mode == "test" else "webhook", "node_id": node_id})
