"""Counting usage facts into the rollups (once per event) and reading them back, always for one team."""

from __future__ import annotations

import bisect
import functools
import sqlite3
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime

from sqlalchemy import Table, bindparam, select
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
from backend.db.base import utcnow
from backend.db.fast_insert import sqlite_datetime
from backend.errors import UserError
from backend.events.schemas.other import ExecutionUsage

GRANULARITIES = ("hour", "day")


def record_usage(session: Session, event: ExecutionUsage) -> bool:
    """Count the usage facts of one event into the hour and day rollups; False if the event was counted before."""
    return record_usage_batch(session, [event]) == 1


def record_usage_batch(session: Session, events: Sequence[ExecutionUsage]) -> int:
    """Count a batch of usage events into the hour and day rollups, each event at most once (its `event_id` in
    analytics_seen); returns how many were new. The batch's facts are summed per rollup row first, so a batch
    costs one statement per table however many runs it holds."""
    dialect = session.get_bind().dialect.name

    def minutes(workflows: list[str]) -> list[tuple[str, str, float]]:
        return list(session.connection().execute(_MINUTES, {"workflows": workflows}))

    def seen(rows: list[dict]) -> set[int]:
        return set(session.connection().execute(_seen_inserter(dialect), rows).scalars())  # rowcount: -1 on psycopg

    def add(table: Table, rows: list[dict]) -> None:
        session.connection().execute(_adder(dialect, table), rows)

    return _record_batch(events, minutes, seen, add)


def record_usage_on_driver(driver: sqlite3.Connection, events: Sequence[ExecutionUsage]) -> int:
    """`record_usage_batch` in SQLite's SQL on a `sqlite3` connection in a transaction (the analytics consumer on
    `linkflow up`'s loop: backend.db.session.driver_transaction). The same rows as through SQLAlchemy
    (tests/unit/backend/analytics/test_analytics.py compares them), at a fraction of the CPU a transaction."""

    def minutes(workflows: list[str]) -> list[tuple[str, str, float]]:
        return driver.execute(f'SELECT team_id, workflow_id, minutes_per_run FROM "{TimeSaved.__tablename__}" '
                              f'WHERE workflow_id IN ({", ".join("?" * len(workflows))})', workflows).fetchall()

    def seen(rows: list[dict]) -> set[int]:
        new: set[int] = set()
        for start in range(0, len(rows), _DRIVER_ROWS):
            chunk = rows[start:start + _DRIVER_ROWS]
            new.update(event_id for event_id, in driver.execute(
                f'INSERT INTO "{AnalyticsSeen.__tablename__}" (event_id, seen_at) VALUES '
                f'{", ".join("(?, ?)" for _ in chunk)} ON CONFLICT (event_id) DO NOTHING RETURNING event_id',
                [value for row in chunk for value in (row["event_id"], sqlite_datetime(row["seen_at"]))]))
        return new

    def add(table: Table, rows: list[dict]) -> None:
        driver.executemany(_driver_adder(table.name, tuple(rows[0])),
                           [[sqlite_datetime(value) if isinstance(value, datetime) else value for value in row.values()]
                            for row in rows])

    return _record_batch(events, minutes, seen, add)


_DRIVER_ROWS = 400  # rows of one multi-row INSERT on the driver (two variables each; SQLite allows 32,766)


@functools.cache
def _driver_adder(table: str, columns: tuple[str, ...]) -> str:
    """`_adder` in SQLite's SQL, for rows with these columns (keys first, then counts), built once."""
    keys = ROLLUP_KEYS[table]
    quoted = ", ".join(f'"{column}"' for column in columns)
    added = ", ".join(f'"{column}" = "{table}"."{column}" + excluded."{column}"' for column in columns
                      if column not in keys)
    return (f'INSERT INTO "{table}" ({quoted}) VALUES ({", ".join("?" * len(columns))}) '
            f'ON CONFLICT ({", ".join(f"{chr(34)}{key}{chr(34)}" for key in keys)}) DO UPDATE SET {added}')


def _record_batch(events: Sequence[ExecutionUsage], minutes: Callable[[list[str]], Iterable[tuple]],
                  seen: Callable[[list[dict]], set[int]], add: Callable[[Table, list[dict]], None]) -> int:
    """`record_usage_batch` with its reads and writes given: `minutes` reads the time saved of workflows, `seen`
    inserts event ids not seen before and returns those, `add` adds rows of counts to a rollup table."""
    if any(event.event_id is None for event in events):
        raise UserError("an analytics event without an event_id cannot be counted exactly once; "
                        "events reach analytics through the outbox, which sets it")
    if not events:
        return 0
    first, ids = [], set()  # each event_id once: a batch may hold one event twice (redelivered)
    for event in events:
        if event.event_id not in ids:
            ids.add(event.event_id)
            first.append(event)
    # Read and sum before the first write: SQLite has one writer at a time, and from its first write to its
    # commit this transaction holds the lock a webhook's save (on the request loop) waits for.
    wanted = {(event.team_id, event.workflow_id) for event in first if event.workflow_id}
    per_run = {(team, workflow): value for team, workflow, value in minutes(sorted({w for _, w in wanted}))
               if (team, workflow) in wanted} if wanted else {}
    sums = _sums(first, per_run)
    now = utcnow()
    new = seen([{"event_id": event.event_id, "seen_at": now} for event in first])
    fresh = [event for event in first if event.event_id in new]  # the others were counted before (redelivered)
    if not fresh:
        return 0
    if len(fresh) < len(first):
        sums = _sums(fresh, per_run)
    for table, rows in zip((ExecutionRollup.__table__, TeamRollup.__table__, FailureRollup.__table__), sums,
                           strict=True):
        if rows:
            keys = ROLLUP_KEYS[table.name]
            # in key order: two consumers adding to the same rows take their locks in the same order
            add(table, [dict(zip(keys, key, strict=True)) | counts for key, counts in sorted(rows.items(), key=_order)])
    return len(fresh)


def _sums(events: Sequence[ExecutionUsage], minutes: dict[tuple[str, str], float]) -> tuple[dict, dict, dict]:
    """The facts of ``events`` summed per row of the workflow, team and failure rollups."""
    workflows: dict[tuple, dict] = {}
    teams: dict[tuple, dict] = {}
    failures: dict[tuple, dict] = {}
    for event in events:
        per_run = minutes.get((event.team_id, event.workflow_id), 0.0)
        for fact in event.executions:
            moment = _moment(fact.finished_at or event.occurred_at)
            workflow_id = event.workflow_id or ""
            for granularity in GRANULARITIES:
                start = period_start(moment, granularity)
                for rows, key in ((workflows, (event.team_id, granularity, start, workflow_id, fact.mode, fact.status)),
                                  (teams, (event.team_id, granularity, start, fact.mode, fact.status))):
                    counts = rows.get(key)
                    if counts is None:
                        counts = rows[key] = dict.fromkeys(COUNT_COLUMNS, 0)
                    counts["executions"] += 1
                    counts["duration_ms"] += fact.duration_ms or 0.0
                    counts["items"] += fact.items
                    counts["time_saved_minutes"] += saved_minutes(fact.mode, fact.status, per_run)
                    counts[bucket_column(duration_bucket(fact.duration_ms))] += 1
            if fact.status == "failed":
                key = (event.team_id, period_start(moment, "day"), workflow_id, fact.failed_node or "")
                failures.setdefault(key, {"failures": 0})["failures"] += 1
    return workflows, teams, failures


ROLLUP_KEYS = {
    ExecutionRollup.__tablename__: ("team_id", "granularity", "period_start", "workflow_id", "mode", "status"),
    TeamRollup.__tablename__: ("team_id", "granularity", "period_start", "mode", "status"),
    FailureRollup.__tablename__: ("team_id", "day", "workflow_id", "failed_node"),
}
COUNT_COLUMNS = ("executions", "duration_ms", "items", "time_saved_minutes", *BUCKET_COLUMNS, UNKNOWN_COLUMN)


def _order(row: tuple) -> tuple:
    return tuple(str(part) for part in row[0])


_MINUTES = select(TimeSaved.team_id, TimeSaved.workflow_id, TimeSaved.minutes_per_run).where(
    TimeSaved.workflow_id.in_(bindparam("workflows", expanding=True)))  # built once: a batch costs its query alone


def saved_minutes(mode: str, status: str, minutes: float) -> float:
    return minutes if status == "succeeded" and mode not in NOT_PRODUCTION else 0.0


@functools.cache
def _adder(dialect: str, table: Table):
    """INSERT a row of counts, or add them to the row with its key (atomic on both databases); built once."""
    keys = ROLLUP_KEYS[table.name]
    statement = _inserter(dialect)(table)
    return statement.on_conflict_do_update(
        index_elements=list(keys),
        set_={column.name: column + statement.excluded[column.name] for column in table.c if column.name not in keys})


@functools.cache
def _seen_inserter(dialect: str):
    """INSERT an event_id into analytics_seen unless it is there, RETURNING it when it was new; built once and
    executed with a row per event (a VALUES list built per batch was compiled anew every time: about a third of
    the consumer's CPU)."""
    return (_inserter(dialect)(AnalyticsSeen.__table__).on_conflict_do_nothing(index_elements=["event_id"])
            .returning(AnalyticsSeen.__table__.c.event_id))


def _inserter(dialect: str):
    return {"postgresql": postgresql.insert, "sqlite": sqlite.insert}[dialect]


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
