"""What finished runs tell the event topics beyond their status: node results on execution.results and
usage facts on analytics.events, written where the outcomes are, in their transaction. Runs of one
workflow recorded together (a webhook group commit) share one event of each kind: one outbox row per
batch, not per run, on the hot path."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime

from backend.engine.runner import RunResult
from backend.engine.store import StepRecord
from backend.events.outbox import outbox_row

MAX_NODES = 1000  # results of more node runs than this are cut (the schema's bound)
MAX_PER_EVENT = 1000
MAX_ERROR_CHARS = 500
MAX_EVENT_ERROR_CHARS = 2000
USAGE_STATUSES = frozenset({"succeeded", "failed"})


@dataclass(frozen=True, slots=True)
class RunFacts:
    team_id: str
    workflow_id: str | None
    results: dict | None  # one entry of nodes.finished's `runs`
    usage: dict | None  # one entry of usage.executions' `executions`


def run_facts(*, execution_id: str, team_id: str, workflow_id: str | None, mode: str, status: str,
              result: RunResult, started_at: datetime | None, finished_at: datetime | None) -> RunFacts:
    steps = result.last_steps[:MAX_NODES]
    results = ({"execution_id": execution_id, "mode": mode, "status": str(status),
                "nodes": [_node(step) for step in steps]} if steps else None)
    usage = usage_entry(execution_id, mode, status, result, started_at, finished_at)
    return RunFacts(team_id, workflow_id, results, usage)


def usage_entry(execution_id: str, mode: str, status: str, result: RunResult, started_at: datetime | None,
                finished_at: datetime | None) -> dict | None:
    """One entry of usage.executions' `executions`; None for a run that has not finished."""
    if status not in USAGE_STATUSES:
        return None
    return {"execution_id": execution_id, "mode": mode, "status": str(status), "finished_at": _iso(finished_at),
            "duration_ms": _ms(started_at, finished_at), "nodes": len(result.last_steps),
            "items": len(result.output), "failed_node": _failed_node(result)}


def fact_rows(facts: list[RunFacts]) -> list[dict]:
    """Outbox rows (for one bulk insert) of these runs' facts: per workflow, one event of each kind."""
    grouped: dict[tuple[str, str | None], list[RunFacts]] = defaultdict(list)
    for fact in facts:
        grouped[(fact.team_id, fact.workflow_id)].append(fact)
    rows = []
    for (team_id, workflow_id), group in grouped.items():
        head = {"team_id": team_id, "workflow_id": workflow_id}
        rows += _rows("execution.results", "nodes.finished", "runs", head, [f.results for f in group if f.results])
        rows += _rows("analytics.events", "usage.executions", "executions", head,
                      [f.usage for f in group if f.usage])
    return rows


def _rows(topic: str, kind: str, field: str, head: dict, entries: list[dict]) -> list[dict]:
    rows = []
    for start in range(0, len(entries), MAX_PER_EVENT):
        chunk = entries[start:start + MAX_PER_EVENT]
        key = head["workflow_id"] or chunk[0]["execution_id"]
        rows.append(outbox_row(topic, key, {"type": kind, **head, field: chunk}))
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
    node = {"node_id": step.node_id[:200], "node_name": step.node_name[:200], "run_index": step.run_index,
            "status": step.status, "duration_ms": _ms(step.started_at, step.finished_at),
            "items_in": sum(map(len, step.input.values())), "items_out": sum(map(len, step.output.values()))}
    if isinstance(step.error, dict) and step.error.get("message") is not None:
        node["error"] = str(step.error["message"])[:MAX_ERROR_CHARS]
    return node


def _failed_node(result: RunResult) -> str | None:
    node = (result.error or {}).get("node")
    return str(node)[:200] if node else None


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


def _ms(start: datetime | None, end: datetime | None) -> float | None:
    if start is None or end is None:
        return None
    return max((end - start).total_seconds() * 1000, 0.0)
