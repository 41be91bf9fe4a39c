"""What a finished run tells the event topics beyond its status: node results on execution.results
and a usage fact on analytics.events. Built where the outcome is written, in its transaction."""

from __future__ import annotations

from datetime import datetime

from backend.engine.runner import RunResult
from backend.engine.store import StepRecord
from backend.events.outbox import outbox_row

MAX_NODES = 1000  # results of more node runs than this are cut (the schema's bound)
MAX_ERROR_CHARS = 500
MAX_EVENT_ERROR_CHARS = 2000
USAGE_STATUSES = frozenset({"succeeded", "failed"})


def run_facts(*, execution_id: str, team_id: str, workflow_id: str | None, mode: str, status: str,
              result: RunResult, started_at: datetime | None, finished_at: datetime | None) -> list[dict]:
    """The outbox rows (for a bulk insert, or `emit_rows`) of one run's results and usage."""
    ids = {"execution_id": execution_id, "team_id": team_id, "workflow_id": workflow_id, "mode": mode,
           "status": str(status)}
    steps = result.last_steps[:MAX_NODES]
    rows = []
    if steps:
        rows.append(outbox_row("execution.results", execution_id, {
            "type": "nodes.finished", **ids, "nodes": [_node(step) for step in steps]}))
    if status in USAGE_STATUSES:
        rows.append(outbox_row("analytics.events", execution_id, {
            "type": "usage.execution", **ids, "started_at": _iso(started_at), "finished_at": _iso(finished_at),
            "duration_ms": _ms(started_at, finished_at), "nodes": len(result.last_steps),
            "items": len(result.output), "failed_node": _failed_node(result)}))
    return rows


def event_error(error: dict | str | None) -> dict | str | None:
    """An execution's error as its events carry it: the message cut to MAX_EVENT_ERROR_CHARS, other fields
    only when they are short (the execution row keeps the whole error)."""
    if error is None:
        return None
    if isinstance(error, str):
        return error[:MAX_EVENT_ERROR_CHARS]
    brief = {k: v for k, v in error.items() if isinstance(v, bool | int | float | None) or
             (isinstance(v, str) and len(v) <= 200)}
    if isinstance(error.get("message"), str):
        brief["message"] = error["message"][:MAX_EVENT_ERROR_CHARS]
    return brief


def _node(step: StepRecord) -> dict:
    error = step.error.get("message") if isinstance(step.error, dict) else None
    return {"node_id": step.node_id[:200], "node_name": step.node_name[:200], "run_index": step.run_index,
            "status": step.status, "started_at": _iso(step.started_at), "finished_at": _iso(step.finished_at),
            "duration_ms": _ms(step.started_at, step.finished_at),
            "items_in": sum(len(items) for items in step.input.values()),
            "items_out": sum(len(items) for items in step.output.values()),
            "error": str(error)[:MAX_ERROR_CHARS] if error is not None else None}


def _failed_node(result: RunResult) -> str | None:
    node = (result.error or {}).get("node")
    return str(node)[:200] if node else None


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


def _ms(start: datetime | None, end: datetime | None) -> float | None:
    if start is None or end is None:
        return None
    return max((end - start).total_seconds() * 1000, 0.0)
