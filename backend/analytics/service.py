"""Counting usage facts into the rollups (once per event) and reading them back, always for one team."""

from __future__ import annotations

import bisect
from datetime import UTC, datetime

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from backend.analytics.models import (
    BUCKET_COLUMNS,
    DURATION_BUCKETS_MS,
    NOT_PRODUCTION,
    UNKNOWN_BUCKET,
    UNKNOWN_COLUMN,
    AnalyticsSeen,
    ExecutionRollup,
    FailureRollup,
    TeamRollup,
    TimeSaved,
)
from backend.errors import UserError
from backend.events.schemas.other import ExecutionUsage, UsageFact

GRANULARITIES = ("hour", "day")


def record_usage(session: Session, event: ExecutionUsage) -> bool:
    """Count the usage facts of one event into the hour and day rollups; False if the event was counted before."""
    if event.event_id is None:
        raise UserError("an analytics event without an event_id cannot be counted exactly once; "
                        "events reach analytics through the outbox, which sets it")
    insert = _insert(session)
    first = session.execute(insert(AnalyticsSeen).values(event_id=event.event_id)
                            .on_conflict_do_nothing(index_elements=["event_id"])
                            .returning(AnalyticsSeen.event_id)).first()  # rowcount is -1 here on psycopg
    if first is None:
        return False
    minutes = minutes_per_run(session, event.team_id, event.workflow_id)
    for fact in event.executions:
        _count(session, event, fact, minutes)
    return True


def minutes_per_run(session: Session, team_id: str, workflow_id: str | None) -> float:
    """The time saved per successful production run of this team's workflow (0 when not set)."""
    if not workflow_id:
        return 0.0
    row = session.get(TimeSaved, workflow_id)
    return row.minutes_per_run if row is not None and row.team_id == team_id else 0.0


def saved_minutes(mode: str, status: str, minutes: float) -> float:
    return minutes if status == "succeeded" and mode not in NOT_PRODUCTION else 0.0


def _count(session: Session, event: ExecutionUsage, fact: UsageFact, minutes: float) -> None:
    moment = _moment(fact.finished_at or event.occurred_at)
    workflow_id = event.workflow_id or ""
    counts = {"executions": 1, "duration_ms": fact.duration_ms or 0.0, "items": fact.items,
              "time_saved_minutes": saved_minutes(fact.mode, fact.status, minutes),
              bucket_column(duration_bucket(fact.duration_ms)): 1}
    for granularity in GRANULARITIES:
        key = {"team_id": event.team_id, "granularity": granularity, "period_start": period_start(moment, granularity),
               "mode": fact.mode, "status": fact.status}
        _add(session, ExecutionRollup.__table__, {**key, "workflow_id": workflow_id}, counts)
        _add(session, TeamRollup.__table__, key, counts)
    if fact.status == "failed":
        _add(session, FailureRollup.__table__, {
            "team_id": event.team_id, "day": period_start(moment, "day"), "workflow_id": workflow_id,
            "failed_node": fact.failed_node or ""}, {"failures": 1})


def _add(session: Session, table: Table, key: dict, counts: dict) -> None:
    """INSERT the counts, or add them to the row with this key (atomic on both databases)."""
    statement = _insert(session)(table).values(**key, **counts)
    statement = statement.on_conflict_do_update(
        index_elements=list(key), set_={name: table.c[name] + statement.excluded[name] for name in counts})
    session.execute(statement)


def _insert(session: Session):
    return {"postgresql": postgresql.insert, "sqlite": sqlite.insert}[session.get_bind().dialect.name]


def duration_bucket(duration_ms: float | None) -> int:
    """The index of the first bucket whose upper bound holds the duration (the last one holds the rest)."""
    if duration_ms is None:
        return UNKNOWN_BUCKET
    return min(bisect.bisect_left(DURATION_BUCKETS_MS, duration_ms), len(DURATION_BUCKETS_MS) - 1)


def bucket_column(bucket: int) -> str:
    """The rollup column counting the runs of a duration bucket."""
    return UNKNOWN_COLUMN if bucket == UNKNOWN_BUCKET else BUCKET_COLUMNS[bucket]


def histogram_of(row) -> dict[int, int]:
    """{bucket: runs} of a row (or summed row) holding the bucket columns in order, then d_unknown."""
    histogram = {bucket: int(row[bucket] or 0) for bucket in range(len(BUCKET_COLUMNS))}
    histogram[UNKNOWN_BUCKET] = int(row[len(BUCKET_COLUMNS)] or 0)
    return histogram


def period_start(moment: datetime, granularity: str) -> datetime:
    moment = moment.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    return moment.replace(hour=0) if granularity == "day" else moment


def _moment(text: str | None) -> datetime:
    if text:
        moment = datetime.fromisoformat(text)
        return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return datetime.now(UTC)


def percentile(histogram: dict[int, int], q: float) -> float | None:
    """The upper bound (ms) of the bucket holding the q-th quantile of the known durations."""
    known = sorted((bucket, count) for bucket, count in histogram.items() if bucket != UNKNOWN_BUCKET and count)
    total = sum(count for _, count in known)
    if not total:
        return None
    running = 0
    for bucket, count in known:
        running += count
        if running >= q * total:
            return float(DURATION_BUCKETS_MS[bucket])
    return float(DURATION_BUCKETS_MS[known[-1][0]])
