"""What finished runs tell the event topics beyond their status: node results on execution.results and
usage facts on analytics.events, written where the outcomes are, in their transaction. Runs of one
workflow recorded together (a webhook group commit) share one event of each kind: one outbox row per
batch, not per run, on the hot path, its entries packed (backend/events/packed.py; the relay expands and
checks them)."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta
from typing import NamedTuple

from backend.engine.runner import RunResult
from backend.engine.store import StepRecord
from backend.events.outbox import nobody_reads, outbox_row
from backend.events.packed import PACKED, micros

MAX_NODES = 1000  # results of more node runs than this are cut (the schema's bound)
MAX_PER_EVENT = 1000
MAX_ERROR_CHARS = 500
MAX_EVENT_ERROR_CHARS = 2000
USAGE_STATUSES = frozenset({"succeeded", "failed"})
_MICROSECOND = timedelta(microseconds=1)


class RunFacts(NamedTuple):
    team_id: str
    workflow_id: str | None
    results: list | None  # one packed entry of nodes.finished's `runs` (backend/events/packed.py)
    usage: list | None  # one packed entry of usage.executions' `executions`


def run_facts(*, execution_id: str, team_id: str, workflow_id: str | None, mode: str, status: str,
              result: RunResult, started_at: datetime | None, finished_at: datetime | None) -> RunFacts:
    steps = result.last_steps[:MAX_NODES]
    results = [execution_id, mode, str(status), [_node(step) for step in steps]] if steps else None
    usage = usage_entry(execution_id, mode, status, result, started_at, finished_at)
    return RunFacts(team_id, workflow_id, results, usage)


def usage_entry(execution_id: str, mode: str, status: str, result: RunResult, started_at: datetime | None,
                finished_at: datetime | None) -> list | None:
    """One packed entry of usage.executions' `executions`; None for a run that has not finished."""
    if status not in USAGE_STATUSES:
        return None
    return [execution_id, mode, str(status), micros(finished_at), _us(started_at, finished_at), len(result.last_steps),
            len(result.output), _failed_node(result)]


def fact_rows(facts: list[RunFacts]) -> list[dict]:
    """Packed outbox rows (for one bulk insert) of these runs' facts: per workflow, one event of each kind."""
    grouped: dict[tuple[str, str | None], list[RunFacts]] = defaultdict(list)
    for fact in facts:
        grouped[(fact.team_id, fact.workflow_id)].append(fact)
    rows = []
    for (team_id, workflow_id), group in grouped.items():
        rows += _rows("execution.results", "nodes.finished", "runs", team_id, workflow_id,
                      [f.results for f in group if f.results])
        rows += _rows("analytics.events", "usage.executions", "executions", team_id, workflow_id,
                      [f.usage for f in group if f.usage])
    return rows


def _rows(topic: str, kind: str, field: str, team_id: str, workflow_id: str | None, entries: list[list]) -> list[dict]:
    if nobody_reads(topic):  # `linkflow up` has no consumer of node results (events.outbox.nobody_reads)
        return []
    rows = []
    for start in range(0, len(entries), MAX_PER_EVENT):
        chunk = entries[start:start + MAX_PER_EVENT]
        rows.append(outbox_row(topic, workflow_id or chunk[0][0], {
            "type": kind, "team_id": team_id, "workflow_id": workflow_id, field: chunk, PACKED: 1}))
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


def _node(step: StepRecord) -> list:
    error = step.error.get("message") if isinstance(step.error, dict) else None
    start, end = step.started_at, step.finished_at
    return [step.node_id[:200], step.node_name[:200], step.run_index, step.status,
            None if start is None or end is None else max((end - start) // _MICROSECOND, 0),
            sum(map(len, step.input.values())), sum(map(len, step.output.values())),
            None if error is None else str(error)[:MAX_ERROR_CHARS]]


def _failed_node(result: RunResult) -> str | None:
    node = (result.error or {}).get("node")
    return str(node)[:200] if node else None


def _us(start: datetime | None, end: datetime | None) -> int | None:
    if start is None or end is None:
        return None
    return max((end - start) // _MICROSECOND, 0)
