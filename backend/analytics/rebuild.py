"""`linkflow analytics rebuild --since`: the rollups from a UTC day on, recomputed from the executions table.

For history written before the usage facts existed, or rollups that went wrong. Rollups from that day on are
deleted and rebuilt in one transaction from the finished executions still kept (retention): executions
whose rows were deleted, or never saved (`save_data`), are not counted, nor are the items of a result
(not kept in a form cheap to count). Time saved is counted with each workflow's minutes per run as they are
now (the consumer counts a run with the value set when it finished). Facts still on their way to the consumer for that range are counted
again when they arrive: run it with the analytics consumer stopped and its lag at zero.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime

from sqlalchemy import delete, insert, select
from sqlalchemy.orm import Session

from backend.analytics.models import (
    BUCKET_COLUMNS,
    UNKNOWN_COLUMN,
    ExecutionRollup,
    FailureRollup,
    TeamRollup,
    TimeSaved,
)
from backend.analytics.service import (
    GRANULARITIES,
    bucket_column,
    duration_bucket,
    period_start,
    saved_minutes,
)
from backend.executions.models import Execution

CHUNK = 5_000
FLOATS = ("duration_ms", "time_saved_minutes")
FINISHED = ("succeeded", "failed")


def rebuild(session: Session, since: datetime) -> dict:
    """Recompute every rollup from `since`'s UTC day on; returns what was counted."""
    start = period_start(since, "day")
    session.execute(delete(ExecutionRollup).where(ExecutionRollup.period_start >= start))
    session.execute(delete(TeamRollup).where(TeamRollup.period_start >= start))
    session.execute(delete(FailureRollup).where(FailureRollup.day >= start))
    rollups: dict[tuple, dict] = defaultdict(lambda: defaultdict(float))
    teams: dict[tuple, dict] = defaultdict(lambda: defaultdict(float))
    failures: dict[tuple, int] = defaultdict(int)
    executions = 0
    minutes = {w: m for w, m in session.execute(select(TimeSaved.workflow_id, TimeSaved.minutes_per_run))}
    query = (select(Execution.team_id, Execution.workflow_id, Execution.mode, Execution.status,
                    Execution.started_at, Execution.created_at, Execution.finished_at, Execution.error)
             .where(Execution.finished_at >= start, Execution.status.in_(FINISHED))
             .execution_options(yield_per=CHUNK))
    for team_id, workflow_id, mode, status, started_at, created_at, finished_at, error in session.execute(query):
        executions += 1
        began = started_at or created_at
        duration = max((finished_at - began).total_seconds() * 1000, 0.0) if began else None
        column = bucket_column(duration_bucket(duration))
        saved = saved_minutes(mode, status, minutes.get(workflow_id, 0.0) if workflow_id else 0.0)
        for granularity in GRANULARITIES:
            moment = period_start(finished_at, granularity)
            for counts in (rollups[(team_id, granularity, moment, workflow_id or "", mode, status)],
                           teams[(team_id, granularity, moment, mode, status)]):
                counts["executions"] += 1
                counts["duration_ms"] += duration or 0.0
                counts["time_saved_minutes"] += saved
                counts[column] += 1
        if status == "failed":
            node = error.get("node") if isinstance(error, dict) else None
            failures[(team_id, period_start(finished_at, "day"), workflow_id or "", str(node or "")[:200])] += 1
    _insert(session, ExecutionRollup, [
        dict(zip(("team_id", "granularity", "period_start", "workflow_id", "mode", "status"), key, strict=True))
        | _whole(counts) for key, counts in rollups.items()])
    _insert(session, TeamRollup, [
        dict(zip(("team_id", "granularity", "period_start", "mode", "status"), key, strict=True)) | _whole(counts)
        for key, counts in teams.items()])
    _insert(session, FailureRollup, [
        dict(zip(("team_id", "day", "workflow_id", "failed_node"), key, strict=True)) | {"failures": count}
        for key, count in failures.items()])
    return {"since": start.isoformat(), "executions": executions, "rollup_rows": len(rollups),
            "failure_rows": len(failures), "rebuilt_at": datetime.now(UTC).isoformat()}


def _whole(counts: dict) -> dict:
    """A row's counters: every bucket column present (0 when none), counts as integers."""
    row = dict.fromkeys((*BUCKET_COLUMNS, UNKNOWN_COLUMN), 0)
    row.update({name: int(value) for name, value in counts.items() if name not in FLOATS})
    return row | {name: counts[name] for name in FLOATS} | {"items": 0}


def _insert(session: Session, model, rows: list[dict]) -> None:
    for begin in range(0, len(rows), CHUNK):
        session.execute(insert(model), rows[begin:begin + CHUNK])
