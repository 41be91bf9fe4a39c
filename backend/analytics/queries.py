"""What `/api/v1/analytics` answers: totals, a time series and per-workflow rows, from the rollups of one team."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from backend.analytics.models import ExecutionRollup as R
from backend.analytics.models import FailureRollup as F
from backend.analytics.service import percentile
from backend.errors import UserError

MAX_RANGE = {"hour": timedelta(days=31), "day": timedelta(days=400)}
SORTS = ("executions", "failures", "p95_ms")


def check_range(since: datetime, until: datetime, granularity: str) -> None:
    if since.tzinfo is None or until.tzinfo is None:
        raise UserError("since and until need a time zone, e.g. 2026-12-01T00:00:00Z")
    if until <= since:
        raise UserError(f"until ({until.isoformat()}) must be after since ({since.isoformat()})")
    if until - since > MAX_RANGE[granularity]:
        raise UserError(f"a {granularity} series covers at most {MAX_RANGE[granularity].days} days; "
                        f"ask for a shorter range or granularity=day")


def _rows(session: Session, team_id: str, since: datetime, until: datetime, granularity: str,
          workflow_id: str | None, *columns):
    query = (select(*columns).where(R.team_id == team_id, R.granularity == granularity,
                                    R.period_start >= since, R.period_start < until))
    if workflow_id is not None:
        query = query.where(R.workflow_id == workflow_id)
    return query


def summary(session: Session, team_id: str, *, since: datetime, until: datetime, granularity: str = "day",
            workflow_id: str | None = None) -> dict:
    """Totals by status and mode, failure rate, p50/p95/p99, and one point per period, for this team only."""
    check_range(since, until, granularity)
    query = _rows(session, team_id, since, until, granularity, workflow_id, R.period_start, R.mode, R.status,
                  R.duration_bucket, func.sum(R.executions), func.sum(R.duration_ms), func.sum(R.items))
    query = query.group_by(R.period_start, R.mode, R.status, R.duration_bucket)
    by_status, by_mode, histogram = defaultdict(int), defaultdict(int), defaultdict(int)
    series: dict[datetime, dict] = {}
    total_ms = items = 0.0
    for period, mode, status, bucket, count, duration, item_count in session.execute(query):
        count = int(count)  # PostgreSQL sums BIGINT to NUMERIC
        by_status[status] += count
        by_mode[mode] += count
        histogram[bucket] += count
        total_ms += float(duration or 0)
        items += int(item_count or 0)
        point = series.setdefault(period, {"period_start": period, "executions": 0, "failed": 0})
        point["executions"] += count
        point["failed"] += count if status == "failed" else 0
    executions = sum(by_status.values())
    return {"since": since, "until": until, "granularity": granularity, "executions": executions,
            "by_status": dict(by_status), "by_mode": dict(by_mode), "items": int(items),
            "failure_rate": by_status.get("failed", 0) / executions if executions else 0.0,
            "average_ms": total_ms / executions if executions else None,
            "p50_ms": percentile(histogram, 0.5), "p95_ms": percentile(histogram, 0.95),
            "p99_ms": percentile(histogram, 0.99), "series": [series[k] for k in sorted(series)]}


def workflows(session: Session, team_id: str, *, since: datetime, until: datetime, sort: str = "executions",
              limit: int = 50) -> list[dict]:
    """One row per workflow of the team: runs, failures, p95; sorted (descending) by `sort`."""
    check_range(since, until, "day")
    if sort not in SORTS:
        raise UserError(f"sort must be one of {', '.join(SORTS)}; got {sort!r}")
    query = _rows(session, team_id, since, until, "day", None, R.workflow_id, R.status, R.duration_bucket,
                  func.sum(R.executions)).group_by(R.workflow_id, R.status, R.duration_bucket)
    rows: dict[str, dict] = {}
    histograms: dict[str, dict[int, int]] = defaultdict(lambda: defaultdict(int))
    for workflow_id, status, bucket, count in session.execute(query):
        count = int(count)
        row = rows.setdefault(workflow_id, {"workflow_id": workflow_id or None, "executions": 0, "failures": 0})
        row["executions"] += count
        row["failures"] += count if status == "failed" else 0
        histograms[workflow_id][bucket] += count
    for workflow_id, row in rows.items():
        row["p95_ms"] = percentile(histograms[workflow_id], 0.95)
    ordered = sorted(rows.values(), key=lambda r: (r[sort] is not None, r[sort] or 0), reverse=True)
    return ordered[:limit]


def failures(session: Session, team_id: str, *, since: datetime, until: datetime, limit: int = 50) -> list[dict]:
    """The nodes executions failed in most often, per workflow, for this team only."""
    check_range(since, until, "day")
    query = (select(F.workflow_id, F.failed_node, func.sum(F.failures).label("n"))
             .where(F.team_id == team_id, F.day >= since, F.day < until)
             .group_by(F.workflow_id, F.failed_node).order_by(func.sum(F.failures).desc()).limit(limit))
    return [{"workflow_id": w or None, "failed_node": node or None, "failures": int(n)}
            for w, node, n in session.execute(query)]
