"""What `/api/v1/analytics` answers: totals, a time series and per-workflow rows, from the rollups of one team."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta

from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session

from backend.analytics.models import BUCKET_COLUMNS, UNKNOWN_COLUMN
from backend.analytics.models import ExecutionRollup as R
from backend.analytics.models import FailureRollup as F
from backend.analytics.models import TeamRollup as TR
from backend.analytics.models import TimeSaved as T
from backend.analytics.service import histogram_of, percentile, period_start
from backend.errors import UserError
from backend.workflows.models import Workflow

MAX_RANGE = {"hour": timedelta(days=31), "day": timedelta(days=400)}
STEP = {"hour": timedelta(hours=1), "day": timedelta(days=1)}
SORTS = ("executions", "failures", "failure_rate", "average_ms", "p95_ms", "time_saved_minutes", "name")


def check_range(since: datetime, until: datetime, granularity: str) -> None:
    if since.tzinfo is None or until.tzinfo is None:
        raise UserError("since and until need a time zone, e.g. 2026-12-01T00:00:00Z")
    if until <= since:
        raise UserError(f"until ({until.isoformat()}) must be after since ({since.isoformat()})")
    if until - since > MAX_RANGE[granularity]:
        raise UserError(f"a {granularity} series covers at most {MAX_RANGE[granularity].days} days; "
                        f"ask for a shorter range or granularity=day")
    try:
        since - (until - since)  # noqa: B018 - the previous period must be a date too
    except OverflowError:
        raise UserError("the range is outside the dates this server can count in; choose a nearer one") from None


def _scope(team_id: str, since: datetime, until: datetime, granularity: str, workflow_id: str | None,
           table=R) -> list:
    scope = [table.team_id == team_id, table.granularity == granularity, table.period_start >= since,
             table.period_start < until]
    if workflow_id is not None:
        scope.append(table.workflow_id == workflow_id)
    return scope


def _histogram(table) -> list:
    """The summed bucket columns, in bucket order, then the unknown durations (see service.histogram_of)."""
    return [func.sum(getattr(table, column)) for column in (*BUCKET_COLUMNS, UNKNOWN_COLUMN)]


class _Totals:
    """Counts of one range folded from rollup rows."""

    def __init__(self) -> None:
        self.by_status: dict[str, int] = defaultdict(int)
        self.by_mode: dict[str, int] = defaultdict(int)
        self.histogram: dict[int, int] = defaultdict(int)
        self.webhook: dict[int, int] = defaultdict(int)
        self.webhook_ms = 0.0
        self.total_ms = 0.0
        self.items = 0
        self.saved = 0.0

    def add(self, status: str, histogram: dict[int, int], count: int, duration: float, items: int,
            saved: float) -> None:
        self.by_status[status] += count
        self.total_ms += duration
        self.items += items
        self.saved += saved
        for bucket, runs in histogram.items():
            self.histogram[bucket] += runs

    def add_mode(self, mode: str, histogram: dict[int, int], count: int, duration: float) -> None:
        self.by_mode[mode] += count
        if mode == "webhook":
            self.webhook_ms += duration
            for bucket, runs in histogram.items():
                self.webhook[bucket] += runs

    @property
    def executions(self) -> int:
        return sum(self.by_status.values())

    def answer(self) -> dict:
        executions, webhook_runs = self.executions, sum(self.webhook.values())
        return {"executions": executions, "by_status": dict(self.by_status), "by_mode": dict(self.by_mode),
                "items": self.items,
                "failure_rate": self.by_status.get("failed", 0) / executions if executions else 0.0,
                "average_ms": self.total_ms / executions if executions else None,
                "p50_ms": percentile(self.histogram, 0.5), "p95_ms": percentile(self.histogram, 0.95),
                "p99_ms": percentile(self.histogram, 0.99), "time_saved_minutes": round(self.saved, 2),
                "webhook_latency": {
                    "executions": webhook_runs,
                    "average_ms": self.webhook_ms / webhook_runs if webhook_runs else None,
                    "p50_ms": percentile(self.webhook, 0.5), "p95_ms": percentile(self.webhook, 0.95),
                    "p99_ms": percentile(self.webhook, 0.99)}}


def _change(now: float | None, before: float | None) -> float | None:
    """Relative change (0.25 is +25 %); None when there is nothing to compare with."""
    if now is None or before is None or before == 0:
        return None
    return (now - before) / before


def periods(since: datetime, until: datetime, granularity: str) -> list[datetime]:
    """The starts of the periods inside [since, until)."""
    at = period_start(since, granularity)
    if at < since:
        at += STEP[granularity]
    starts = []
    while at < until:
        starts.append(at)
        at += STEP[granularity]
    return starts


def summary(session: Session, team_id: str, *, since: datetime, until: datetime, granularity: str = "day",
            workflow_id: str | None = None) -> dict:
    """Totals by status and mode, failure rate, p50/p95/p99, time saved and webhook latency; the same totals
    for the period of the same length just before (`previous`, `change`); one point per period."""
    check_range(since, until, granularity)
    before = since - (until - since)
    table = TR if workflow_id is None else R  # the team's totals are kept apart: a month is a few hundred rows
    sums = [func.sum(table.executions), func.sum(table.duration_ms), *_histogram(table)]
    by_status = (select(table.period_start, table.status, func.sum(table.items), func.sum(table.time_saved_minutes),
                        *sums)
                 .where(*_scope(team_id, before, until, granularity, workflow_id, table))
                 .group_by(table.period_start, table.status))
    current, previous = _Totals(), _Totals()
    series = {start: {"period_start": start, "executions": 0, "succeeded": 0, "failed": 0,
                      "time_saved_minutes": 0.0, "_histogram": defaultdict(int)}
              for start in periods(since, until, granularity)}
    for period, status, items, saved, count, duration, *buckets in session.execute(by_status):
        count, duration, saved = int(count), float(duration or 0), float(saved or 0)  # NUMERIC on PostgreSQL
        histogram = histogram_of(buckets)
        (current if period >= since else previous).add(status, histogram, count, duration, int(items or 0), saved)
        point = series.get(period)
        if point is not None:
            point["executions"] += count
            point["time_saved_minutes"] += saved
            if status in ("succeeded", "failed"):
                point[status] += count
            for bucket, runs in histogram.items():
                point["_histogram"][bucket] += runs
    by_mode = (select(table.mode, *sums).where(*_scope(team_id, since, until, granularity, workflow_id, table))
               .group_by(table.mode))
    for mode, count, duration, *buckets in session.execute(by_mode):
        current.add_mode(mode, histogram_of(buckets), int(count), float(duration or 0))
    now, then = current.answer(), previous.answer()
    change = {name: _change(now[name], then[name]) for name in
              ("executions", "time_saved_minutes", "average_ms", "p95_ms")}
    change["failure_rate"] = now["failure_rate"] - then["failure_rate"] if then["executions"] else None
    points = []
    for start in sorted(series):
        point = series[start]
        histogram = point.pop("_histogram")
        points.append({**point, "time_saved_minutes": round(point["time_saved_minutes"], 2),
                       "p50_ms": percentile(histogram, 0.5), "p95_ms": percentile(histogram, 0.95)})
    return {"since": since, "until": until, "granularity": granularity, **now,
            "previous": {"since": before, "until": since, **{k: v for k, v in then.items()
                                                              if k not in ("by_mode", "webhook_latency")}},
            "change": change, "series": points}


def workflows(session: Session, team_id: str, *, since: datetime, until: datetime, granularity: str = "day",
              sort: str = "executions", direction: str = "desc", limit: int = 50) -> list[dict]:
    """One row per workflow of the team that ran in the range: runs, failures, durations and time saved."""
    check_range(since, until, granularity)
    if sort not in SORTS:
        raise UserError(f"sort must be one of {', '.join(SORTS)}; got {sort!r}")
    query = (select(R.workflow_id, R.status, func.sum(R.executions), func.sum(R.duration_ms),
                    func.sum(R.time_saved_minutes), *_histogram(R))
             .where(*_scope(team_id, since, until, granularity, None))
             .group_by(R.workflow_id, R.status))
    rows: dict[str, dict] = {}
    histograms: dict[str, dict[int, int]] = defaultdict(lambda: defaultdict(int))
    for workflow_id, status, count, duration, saved, *buckets in session.execute(query):
        count = int(count)
        row = rows.setdefault(workflow_id, {"workflow_id": workflow_id or None, "executions": 0, "failures": 0,
                                            "_ms": 0.0, "time_saved_minutes": 0.0})
        row["time_saved_minutes"] += float(saved or 0)
        row["executions"] += count
        row["failures"] += count if status == "failed" else 0
        row["_ms"] += float(duration or 0)
        for bucket, runs in histogram_of(buckets).items():
            histograms[workflow_id][bucket] += runs
    names = {w: name for w, name in session.execute(select(Workflow.id, Workflow.name).where(
        Workflow.team_id == team_id, Workflow.id.in_([w for w in rows if w])))} if rows else {}
    minutes = {w: m for w, m in session.execute(select(T.workflow_id, T.minutes_per_run).where(T.team_id == team_id))}
    for workflow_id, row in rows.items():
        executions = row["executions"]
        row["name"] = names.get(workflow_id)
        row["deleted"] = bool(workflow_id) and workflow_id not in names
        row["failure_rate"] = row["failures"] / executions if executions else 0.0
        row["average_ms"] = row.pop("_ms") / executions if executions else None
        row["p95_ms"] = percentile(histograms[workflow_id], 0.95)
        row["minutes_per_run"] = minutes.get(workflow_id)
        row["time_saved_minutes"] = round(row["time_saved_minutes"], 2)
    if sort == "name":
        ordered = sorted(rows.values(), key=lambda r: (r["name"] or "").lower(), reverse=direction == "desc")
    else:
        known = [r for r in rows.values() if r[sort] is not None]
        ordered = sorted(known, key=lambda r: (r[sort], r["executions"]), reverse=direction == "desc")
        ordered += [r for r in rows.values() if r[sort] is None]  # no duration known: last either way
    return ordered[:limit]


def failures(session: Session, team_id: str, *, since: datetime, until: datetime, limit: int = 50,
             workflow_id: str | None = None) -> list[dict]:
    """The nodes executions failed in most often, per workflow, for this team only (per UTC day: a range
    starting inside a day counts that whole day)."""
    check_range(since, until, "day")
    total = func.sum(F.failures)
    query = (select(F.workflow_id, Workflow.name, F.failed_node, total)
             .outerjoin(Workflow, and_(Workflow.id == F.workflow_id, Workflow.team_id == F.team_id))
             .where(F.team_id == team_id, F.day >= period_start(since, "day"), F.day < until,
                    *([F.workflow_id == workflow_id] if workflow_id is not None else []))
             .group_by(F.workflow_id, Workflow.name, F.failed_node).order_by(total.desc(), F.failed_node)
             .limit(limit))
    return [{"workflow_id": w or None, "workflow_name": name, "failed_node": node or None, "failures": int(n)}
            for w, name, node, n in session.execute(query)]


def set_time_saved(session: Session, workflow: Workflow, minutes: float | None, user_id: str | None) -> dict:
    """Set (or clear, with None) the minutes one successful production run of this workflow saves."""
    row = session.get(T, workflow.id)
    if minutes is None:
        if row is not None:
            session.delete(row)
    elif row is None:
        session.add(T(workflow_id=workflow.id, team_id=workflow.team_id, minutes_per_run=minutes,
                      updated_by=user_id))
    else:  # the team too: a workflow moved to another team takes its setting along once set there
        row.minutes_per_run, row.updated_by, row.team_id = minutes, user_id, workflow.team_id
    session.flush()
    return time_saved(session, workflow)


def time_saved(session: Session, workflow: Workflow) -> dict:
    row = session.get(T, workflow.id)
    return {"workflow_id": workflow.id, "minutes_per_run": row.minutes_per_run if row else None,
            "updated_at": row.updated_at if row else None}
