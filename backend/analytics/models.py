"""Insights rollups: executions per team, workflow, hour and day, by mode, status and duration bucket."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Float, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from backend.db.base import Base, utcnow

# Upper bounds (ms) of the duration buckets; percentiles are read from them (the bucket's upper bound).
DURATION_BUCKETS_MS = (10, 25, 50, 100, 250, 500, 1_000, 2_500, 5_000, 10_000, 30_000, 60_000, 300_000,
                       1_800_000, 86_400_000)
UNKNOWN_BUCKET = -1  # no duration known


class AnalyticsSeen(Base):
    """The analytics.events already counted, by outbox id: a redelivered event changes nothing."""

    __tablename__ = "analytics_seen"

    event_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    seen_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


BUCKET_COLUMNS = tuple(f"d{index}" for index in range(len(DURATION_BUCKETS_MS)))  # runs per duration bucket
UNKNOWN_COLUMN = "d_unknown"  # runs whose duration is not known


class _Counts:
    """What a rollup row counts: runs, their summed duration and items, and a histogram of durations (one column
    per bucket, so one row holds a whole histogram and a month of a team's rollups stays a few thousand rows)."""

    # INTEGER, not BIGINT: PostgreSQL sums INTEGER in a 64-bit accumulator, BIGINT in a much slower NUMERIC one,
    # and one row counts one period of one workflow (2^31 runs an hour is beyond any instance)
    executions: Mapped[int] = mapped_column(Integer, default=0)
    duration_ms: Mapped[float] = mapped_column(Float, default=0.0)  # the sum
    items: Mapped[int] = mapped_column(BigInteger, default=0)
    # minutes saved: successful production runs times their workflow's minutes per run when they finished
    time_saved_minutes: Mapped[float] = mapped_column(Float, default=0.0)
    d_unknown: Mapped[int] = mapped_column(Integer, default=0)


for _column in BUCKET_COLUMNS:
    setattr(_Counts, _column, mapped_column(Integer, default=0))
    _Counts.__annotations__[_column] = Mapped[int]


class ExecutionRollup(_Counts, Base):
    """Executions of one workflow that finished in one period (hour or day, UTC) with one mode and status."""

    __tablename__ = "analytics_execution_rollups"
    __table_args__ = (Index(None, "team_id", "granularity", "workflow_id", "period_start"),)

    team_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    granularity: Mapped[str] = mapped_column(String(4), primary_key=True)  # hour | day
    period_start: Mapped[datetime] = mapped_column(primary_key=True)
    workflow_id: Mapped[str] = mapped_column(String(32), primary_key=True)  # "" for runs of no saved workflow
    mode: Mapped[str] = mapped_column(String(16), primary_key=True)
    status: Mapped[str] = mapped_column(String(16), primary_key=True)


class TeamRollup(_Counts, Base):
    """The same counts for all of a team's workflows together: what the team's totals and series read."""

    __tablename__ = "analytics_team_rollups"

    team_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    granularity: Mapped[str] = mapped_column(String(4), primary_key=True)
    period_start: Mapped[datetime] = mapped_column(primary_key=True)
    mode: Mapped[str] = mapped_column(String(16), primary_key=True)
    status: Mapped[str] = mapped_column(String(16), primary_key=True)


class FailureRollup(Base):
    """Failed executions per day and the node they failed in."""

    __tablename__ = "analytics_failures"

    team_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    day: Mapped[datetime] = mapped_column(primary_key=True)
    workflow_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    failed_node: Mapped[str] = mapped_column(String(200), primary_key=True)  # "" when no node is named
    failures: Mapped[int] = mapped_column(BigInteger, default=0)


# Runs someone started by hand to try a workflow save nobody time; every other run that succeeded does.
NOT_PRODUCTION = ("manual", "test")


class TimeSaved(Base):
    """Minutes one successful production run of a workflow saves someone (a setting of the workflow, as in
    n8n's Insights): counted into the rollups as each such run finishes."""

    __tablename__ = "analytics_time_saved"

    workflow_id: Mapped[str] = mapped_column(ForeignKey("workflows.id", ondelete="CASCADE"), primary_key=True)
    team_id: Mapped[str] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"), index=True)
    minutes_per_run: Mapped[float] = mapped_column(Float)
    updated_by: Mapped[str | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
