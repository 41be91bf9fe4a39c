"""`linkflow analytics rebuild --since`: the rollups from a UTC day on, recomputed from the executions table.

For history written before the usage facts existed, or rollups that went wrong. Rollups from that day on are
deleted and rebuilt in one transaction from the finished executions still kept (retention): executions
whose rows were deleted, or never saved (`save_data`), are not counted, nor are the items of a result
(not kept in a form cheap to count). Facts still on their way to the consumer for that range are counted
again when they arrive: run it with the analytics consumer stopped and its lag at zero.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime

from sqlalchemy import delete, insert, select
from sqlalchemy.orm import Session

from backend.analytics.models import ExecutionRollup, FailureRollup
from backend.analytics.service import GRANULARITIES, duration_bucket, period_start
from backend.executions.models import Execution

CHUNK = 5_000
FINISHED = ("succeeded", "failed")


def rebuild(session: Session, since: datetime) -> dict:
    """Recompute every rollup from `since`'s UTC day on; returns what was counted."""
    start = period_start(since, "day")
    session.execute(delete(ExecutionRollup).where(ExecutionRollup.period_start >= start))
    session.execute(delete(FailureRollup).where(FailureRollup.day >= start))
    rollups: dict[tuple, list[float]] = defaultdict(lambda: [0, 0.0])
    failures: dict[tuple, int] = defaultdict(int)
    executions = 0
    query = (select(Execution.team_id, Execution.workflow_id, Execution.mode, Execution.status,
                    Execution.started_at, Execution.created_at, Execution.finished_at, Execution.error)
             .where(Execution.finished_at >= start, Execution.status.in_(FINISHED))
             .execution_options(yield_per=CHUNK))
    for team_id, workflow_id, mode, status, started_at, created_at, finished_at, error in session.execute(query):
        executions += 1
        began = started_at or created_at
        duration = max((finished_at - began).total_seconds() * 1000, 0.0) if began else None
        for granularity in GRANULARITIES:
            key = (team_id, granularity, period_start(finished_at, granularity), workflow_id or "", mode, status,
                   duration_bucket(duration))
            rollups[key][0] += 1
            rollups[key][1] += duration or 0.0
        if status == "failed":
            node = error.get("node") if isinstance(error, dict) else None
            failures[(team_id, period_start(finished_at, "day"), workflow_id or "", str(node or "")[:200])] += 1
    _insert(session, ExecutionRollup, [
        dict(zip(("team_id", "granularity", "period_start", "workflow_id", "mode", "status", "duration_bucket"),
                 key, strict=True)) | {"executions": count, "duration_ms": total, "items": 0}
        for key, (count, total) in rollups.items()])
    _insert(session, FailureRollup, [
        dict(zip(("team_id", "day", "workflow_id", "failed_node"), key, strict=True)) | {"failures": count}
        for key, count in failures.items()])
    return {"since": start.isoformat(), "executions": executions, "rollup_rows": len(rollups),
            "failure_rows": len(failures), "rebuilt_at": datetime.now(UTC).isoformat()}


def _insert(session: Session, model, rows: list[dict]) -> None:
    for begin in range(0, len(rows), CHUNK):
        session.execute(insert(model), rows[begin:begin + CHUNK])
