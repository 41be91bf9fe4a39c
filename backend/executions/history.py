"""Reading executions: the filtered list (newest first) and one execution with its steps."""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from backend.errors import NotFound
from backend.executions.models import Execution, ExecutionStep
from backend.executions.schemas import ExecutionOut, ExecutionSummary, StepOut
from backend.executions.sql_store import resolve_payload

log = logging.getLogger("linkflow.executions")

_SUMMARY_COLUMNS = (Execution.id, Execution.workflow_id, Execution.status, Execution.mode, Execution.retry_of_id,
                    Execution.created_at, Execution.started_at, Execution.finished_at, Execution.error)


def get_execution(session: Session, team_id: str, execution_id: str) -> Execution:
    """The team's execution; another team's id answers exactly like a missing one."""
    execution = session.get(Execution, execution_id)
    if execution is None or execution.team_id != team_id:
        raise NotFound(f"execution {execution_id} not found")
    return execution


def list_executions(session: Session, team_id: str, *, workflow_id: str | None = None, status: str | None = None,
                    mode: str | None = None, started_after: datetime | None = None,
                    started_before: datetime | None = None, limit: int = 20,
                    offset: int = 0) -> tuple[list[ExecutionSummary], int]:
    """Newest first. "Started" is when a worker took it up, or when it was queued if none has yet."""
    started = func.coalesce(Execution.started_at, Execution.created_at)
    conditions = [Execution.team_id == team_id]
    for column, value in ((Execution.workflow_id, workflow_id), (Execution.status, status), (Execution.mode, mode)):
        if value is not None:
            conditions.append(column == value)
    if started_after is not None:
        conditions.append(started >= started_after)
    if started_before is not None:
        conditions.append(started < started_before)
    total = session.scalar(select(func.count()).select_from(Execution).where(*conditions)) or 0
    rows = session.execute(select(*_SUMMARY_COLUMNS).where(*conditions)
                           .order_by(Execution.created_at.desc(), Execution.id.desc())
                           .limit(limit).offset(offset)).all()
    return [summary(row) for row in rows], total


def execution_detail(session: Session, execution: Execution) -> ExecutionOut:
    steps = session.scalars(select(ExecutionStep).where(ExecutionStep.execution_id == execution.id)
                            .order_by(ExecutionStep.started_at, ExecutionStep.run_index, ExecutionStep.id))
    fields = summary(execution).model_dump()
    return ExecutionOut(
        **fields, version_id=execution.version_id, parent_execution_id=execution.parent_execution_id,
        definition=execution.definition, input=execution.input, output=execution.output,
        error_detail=execution.error, resume_at=execution.resume_at, attempts=execution.attempts,
        steps=[_step(step) for step in steps])


def summary(row) -> ExecutionSummary:
    return ExecutionSummary(
        id=row.id, workflow_id=row.workflow_id, status=row.status, mode=row.mode, retry_of_id=row.retry_of_id,
        created_at=row.created_at, started_at=row.started_at, finished_at=row.finished_at,
        duration_ms=duration_ms(row.started_at, row.finished_at), error=error_summary(row.error))


def _step(step: ExecutionStep) -> StepOut:
    return StepOut(
        node_id=step.node_id, node_name=step.node_name, run_index=step.run_index, status=step.status,
        attempts=step.attempts, input=_payload(step, step.input, step.input_ref),
        output=_payload(step, step.output, step.output_ref), error=step.error, started_at=step.started_at,
        finished_at=step.finished_at, duration_ms=duration_ms(step.started_at, step.finished_at))


def _payload(step: ExecutionStep, inline: dict | None, ref: str | None) -> dict | None:
    try:
        return resolve_payload(inline, ref)
    except (OSError, ValueError):  # offloaded data deleted or damaged: show the rest of the execution
        log.warning("offloaded step data unreadable", extra={"execution_id": step.execution_id, "ref": ref})
        return None


def duration_ms(started: datetime | None, finished: datetime | None) -> int | None:
    if started is None or finished is None:
        return None
    return int((finished - started).total_seconds() * 1000)


def error_summary(error: dict | None) -> str | None:
    if not error:
        return None
    message = str(error.get("message") or "failed")
    node = error.get("node")
    return f"node {node!r}: {message}" if node else message
