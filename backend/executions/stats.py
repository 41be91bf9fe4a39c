"""Execution statistics over a time range, for the dashboard's charts.

Everything is aggregated in the database with SQL that runs on SQLite and PostgreSQL alike:
counts per hour and status, duration percentiles (nearest rank, from window functions) and the
top failing workflows and nodes. Only the hour bucket and the duration need a dialect's own
function. An execution belongs to the hour it was created in (when its trigger fired).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import ColumnElement, and_, case, func, literal_column, select
from sqlalchemy.orm import Session

from backend.errors import UserError
from backend.executions.models import Execution, ExecutionStatus, ExecutionStep
from backend.executions.schemas import (
    DurationStats,
    ExecutionStats,
    FailingNode,
    FailingWorkflow,
    HourStats,
)
from backend.workflows.models import Workflow

MAX_RANGE = timedelta(days=31)
DEFAULT_RANGE = timedelta(hours=24)
TOP = 10
PERCENTILES = (50, 95)
HOUR = timedelta(hours=1)
# Runs that went to their end; a cancelled run's duration says when someone stopped it, not how long it takes.
COMPLETED = (ExecutionStatus.SUCCEEDED, ExecutionStatus.FAILED)


class InvalidRange(UserError):
    status_code = 422
    code = "invalid_range"


def resolve_range(since: datetime | None, until: datetime | None, now: datetime) -> tuple[datetime, datetime]:
    """The range asked for; by default the last 24 hours up to now. At most 31 days."""
    until = until or now
    try:
        since = since or until - DEFAULT_RANGE
        until + HOUR  # noqa: B018 - the hours of the range must be representable
    except OverflowError:
        raise InvalidRange("the range is outside the dates this server can count in; choose a nearer one") from None
    if since >= until:
        raise InvalidRange(f"`since` ({since.isoformat()}) must be before `until` ({until.isoformat()})")
    if until - since > MAX_RANGE:
        raise InvalidRange(f"the range from {since.isoformat()} to {until.isoformat()} is longer than 31 days; "
                           "choose a shorter one")
    return since, until


def execution_stats(session: Session, team_id: str, since: datetime, until: datetime,
                    workflow_id: str | None = None) -> ExecutionStats:
    dialect = session.get_bind().dialect.name
    scope = [Execution.team_id == team_id, Execution.created_at >= since, Execution.created_at < until]
    if workflow_id is not None:
        scope.append(Execution.workflow_id == workflow_id)
    hour = _hour(dialect)
    counts = session.execute(select(hour.label("hour"), Execution.status, func.count())
                             .where(*scope).group_by(hour, Execution.status)).all()
    per_hour = _percentiles(session, dialect, scope, by_hour=True)
    overall = _percentiles(session, dialect, scope, by_hour=False).get(None, {})
    hours = _hour_rows(since, until, counts, per_hour)
    totals = {s.value: sum(h.counts[s.value] for h in hours) for s in ExecutionStatus}
    return ExecutionStats(
        since=since, until=until, hours=hours, totals=totals,
        duration=DurationStats(p50_ms=overall.get(50), p95_ms=overall.get(95), count=overall.get("n", 0)),
        top_failing_workflows=_failing_workflows(session, scope), top_failing_nodes=_failing_nodes(session, scope))


def _hour(dialect: str) -> ColumnElement[str]:
    """The UTC hour as text, 'YYYY-MM-DDTHH'."""
    if dialect == "postgresql":
        # literals, not bound parameters: GROUP BY must repeat the SELECT expression exactly
        utc = func.timezone(literal_column("'UTC'"), Execution.created_at)
        return func.to_char(utc, literal_column("'YYYY-MM-DD\"T\"HH24'"))
    return func.strftime(literal_column("'%Y-%m-%dT%H'"), Execution.created_at)


def _duration_ms(dialect: str) -> ColumnElement[float]:
    if dialect == "postgresql":
        return func.extract("epoch", Execution.finished_at - Execution.started_at) * 1000
    return (func.julianday(Execution.finished_at) - func.julianday(Execution.started_at)) * 86_400_000


def _percentiles(session: Session, dialect: str, scope: list, *, by_hour: bool) -> dict:
    """{hour or None: {50: ms, 95: ms, "n": count}}; nearest-rank percentiles of completed runs."""
    duration = _duration_ms(dialect)
    partition = [_hour(dialect)] if by_hour else None
    ranked = (select((_hour(dialect) if by_hour else literal_column("NULL")).label("hour"), duration.label("ms"),
                     func.row_number().over(partition_by=partition, order_by=duration).label("rank"),
                     func.count().over(partition_by=partition).label("n"))
              .where(*scope, Execution.status.in_(COMPLETED), Execution.started_at.is_not(None),
                     Execution.finished_at.is_not(None))
              .subquery())
    # ceil(p * n / 100) with integer arithmetic, the same on both databases
    picks = [func.max(case((ranked.c.rank == (ranked.c.n * p + 99) // 100, ranked.c.ms))).label(f"p{p}")
             for p in PERCENTILES]
    rows = session.execute(select(ranked.c.hour, func.max(ranked.c.n), *picks).group_by(ranked.c.hour)).all()
    result = {}
    for row in rows:
        values = {p: _ms(value) for p, value in zip(PERCENTILES, row[2:], strict=True)}
        result[row[0]] = {**values, "n": int(row[1] or 0)}
    return result


def _ms(value) -> int | None:
    return None if value is None else max(0, round(float(value)))


def _hour_rows(since: datetime, until: datetime, counts, per_hour: dict) -> list[HourStats]:
    """Every hour of the range, in order, zero-filled."""
    by_hour: dict[str, dict[str, int]] = {}
    for hour, status, count in counts:
        by_hour.setdefault(hour, {})[status] = count
    start = since.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    rows = []
    at = start
    while at < until:
        key = at.strftime("%Y-%m-%dT%H")
        found = by_hour.get(key, {})
        stats = per_hour.get(key, {})
        row_counts = {s.value: int(found.get(s.value, 0)) for s in ExecutionStatus}
        rows.append(HourStats(hour=at, counts=row_counts, total=sum(row_counts.values()),
                              p50_ms=stats.get(50), p95_ms=stats.get(95)))
        at += HOUR
    return rows


def _failing_workflows(session: Session, scope: list) -> list[FailingWorkflow]:
    count = func.count().label("failures")
    rows = session.execute(
        select(Execution.workflow_id, Workflow.name, count)
        .outerjoin(Workflow, Workflow.id == Execution.workflow_id)
        .where(*scope, Execution.status == ExecutionStatus.FAILED)
        .group_by(Execution.workflow_id, Workflow.name)
        .order_by(count.desc(), Workflow.name).limit(TOP)).all()
    return [FailingWorkflow(workflow_id=wid, name=_name(wid, name), count=n) for wid, name, n in rows]


def _failing_nodes(session: Session, scope: list) -> list[FailingNode]:
    """Nodes whose step failed, counted once per execution (a loop may fail one node several times)."""
    count = func.count(ExecutionStep.execution_id.distinct()).label("failures")
    rows = session.execute(
        select(Execution.workflow_id, Workflow.name, ExecutionStep.node_name, count)
        .join(ExecutionStep, and_(ExecutionStep.execution_id == Execution.id, ExecutionStep.status == "failed"))
        .outerjoin(Workflow, Workflow.id == Execution.workflow_id)
        .where(*scope, Execution.status == ExecutionStatus.FAILED)  # a failed step fails its execution
        .group_by(Execution.workflow_id, Workflow.name, ExecutionStep.node_name)
        .order_by(count.desc(), ExecutionStep.node_name).limit(TOP)).all()
    return [FailingNode(workflow_id=wid, workflow_name=_name(wid, name), node_name=node, count=n)
            for wid, name, node, n in rows]


def _name(workflow_id: str | None, name: str | None) -> str:
    if name:
        return name
    return "deleted workflow" if workflow_id else "run without a saved workflow"

