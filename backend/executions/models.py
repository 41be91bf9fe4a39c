from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from backend.db.base import Base, IdMixin, utcnow


class ExecutionStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    WAITING = "waiting"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"


class ExecutionMode(StrEnum):
    """What started an execution."""

    MANUAL = "manual"  # "Run" in the editor or POST /workflows/{id}/run
    WEBHOOK = "webhook"
    TEST = "test"  # a webhook's test URL
    SCHEDULE = "schedule"
    TRIGGER = "trigger"  # a listener trigger (Redis, Kafka) received a message
    RETRY = "retry"
    SUBWORKFLOW = "subworkflow"
    ERROR = "error"  # a workflow's error workflow


class Execution(IdMixin, Base):
    __tablename__ = "executions"
    __table_args__ = (
        Index(None, "team_id", "created_at"),
        Index(None, "workflow_id", "created_at"),
        Index(None, "status", "lease_expires_at"),
        # Partial: few executions wait or have a parent, and only those are looked up by these columns, so a
        # saved run writes two index entries fewer (issue #18). A comparison on the column implies the
        # condition, so SQLite and PostgreSQL both use them for `resume_at <= :now` and `parent = :id`.
        Index(None, "resume_at", sqlite_where=text("resume_at IS NOT NULL"),
              postgresql_where=text("resume_at IS NOT NULL")),
        Index(None, "parent_execution_id", sqlite_where=text("parent_execution_id IS NOT NULL"),
              postgresql_where=text("parent_execution_id IS NOT NULL")),
    )

    team_id: Mapped[str] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"))
    workflow_id: Mapped[str | None] = mapped_column(ForeignKey("workflows.id", ondelete="SET NULL"))
    version_id: Mapped[str | None] = mapped_column(String(32))
    # The definition that ran, so history survives edits and files run by `linkflow run`.
    definition: Mapped[dict | None]
    status: Mapped[str] = mapped_column(String(16), default=ExecutionStatus.QUEUED)
    mode: Mapped[str] = mapped_column(String(16), default=ExecutionMode.MANUAL)  # an ExecutionMode
    input: Mapped[list | None]
    output: Mapped[list | None]
    error: Mapped[dict | None]
    parent_execution_id: Mapped[str | None] = mapped_column(String(32))
    retry_of_id: Mapped[str | None] = mapped_column(String(32))
    lease_owner: Mapped[str | None] = mapped_column(String(64))
    lease_expires_at: Mapped[datetime | None]
    resume_at: Mapped[datetime | None]
    attempts: Mapped[int] = mapped_column(default=0)  # every claim by a worker, a resume after a wait too
    # Attempts in a row that ended without an outcome (the worker died, or crashed on an unexpected
    # error); reset when an attempt records one. Past the limit the execution fails (see worker_runtime).
    lost_attempts: Mapped[int] = mapped_column(default=0, server_default="0")
    last_attempt_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]


class ExecutionStep(IdMixin, Base):
    """One node run, committed before any successor starts (the resume point)."""

    __tablename__ = "execution_steps"
    # The unique constraint's index, led by execution_id, serves the lookups of a run's steps (and the cascade):
    # no second index on execution_id to write with every step.
    __table_args__ = (UniqueConstraint("execution_id", "node_id", "run_index"),)

    execution_id: Mapped[str] = mapped_column(ForeignKey("executions.id", ondelete="CASCADE"))
    node_id: Mapped[str] = mapped_column(String(100))
    node_name: Mapped[str] = mapped_column(String(200))
    run_index: Mapped[int] = mapped_column(default=0)
    status: Mapped[str] = mapped_column(String(16))  # running|succeeded|failed|skipped|waiting
    attempts: Mapped[int] = mapped_column(default=0)
    input: Mapped[dict | None]
    input_ref: Mapped[str | None] = mapped_column(String(500))
    output: Mapped[dict | None]  # {port: [items]}
    output_ref: Mapped[str | None] = mapped_column(String(500))  # storage key when too large to inline
    error: Mapped[dict | None]
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]


class WorkerHeartbeat(Base):
    """A running worker process (or the embedded worker thread) saying it is alive, for the admin console."""

    __tablename__ = "worker_heartbeats"

    id: Mapped[str] = mapped_column(String(200), primary_key=True)  # "<hostname>:<pid>:<role>"
    role: Mapped[str] = mapped_column(String(32))  # worker|scheduler|consume|embedded
    hostname: Mapped[str] = mapped_column(String(255))
    pid: Mapped[int]
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    details: Mapped[dict] = mapped_column(default=dict)  # queues, threads, version, processed counts
