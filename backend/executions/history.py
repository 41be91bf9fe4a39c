"""Reading executions: the filtered list (newest first) and one execution with its steps."""

from __future__ import annotations

import json
import logging
from datetime import datetime

from sqlalchemy import ColumnElement, Text, cast, exists, func, or_, select
from sqlalchemy.orm import Session

from backend.engine.items import ItemStream, revive
from backend.errors import NotFound
from backend.executions.models import Execution, ExecutionStep
from backend.executions.schemas import ExecutionOut, ExecutionSummary, StepOut
from backend.executions.sql_store import resolve_payload
from backend.storage.service import get_storage
from backend.storage.spill import StorageItemSpill
from backend.workflows.models import Workflow
from backend.workflows.secrets import masked

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
                    started_before: datetime | None = None, q: str | None = None, limit: int = 20,
                    offset: int = 0) -> tuple[list[ExecutionSummary], int]:
    """Newest first. "Started" is when a worker took it up, or when it was queued if none has yet.

    ``q`` finds executions whose data holds the text: the trigger data, the output, the error,
    or any inline step's input, output or error (step data offloaded to files is not searched).
    """
    started = func.coalesce(Execution.started_at, Execution.created_at)
    conditions = [Execution.team_id == team_id]
    for column, value in ((Execution.workflow_id, workflow_id), (Execution.status, status), (Execution.mode, mode)):
        if value is not None:
            conditions.append(column == value)
    if started_after is not None:
        conditions.append(started >= started_after)
    if started_before is not None:
        # created_at <= started, so this bound holds too and lets the (team_id, created_at) index help
        conditions += [started < started_before, Execution.created_at < started_before]
    if q:
        conditions.append(data_contains(q))
    total = session.scalar(select(func.count()).select_from(Execution).where(*conditions)) or 0
    rows = session.execute(select(*_SUMMARY_COLUMNS, Workflow.name.label("workflow_name")).where(*conditions)
                           .outerjoin(Workflow, Workflow.id == Execution.workflow_id)
                           .order_by(Execution.created_at.desc(), Execution.id.desc())
                           .limit(limit).offset(offset)).all()
    return [summary(row) for row in rows], total


def data_contains(text: str) -> ColumnElement[bool]:
    """Case-insensitive substring search in the execution's JSON data, as stored JSON text.

    The same SQL on SQLite (JSON text) and PostgreSQL (jsonb cast to text). The stored text
    escapes quotes and backslashes, and SQLite's also escapes non-ASCII characters, so each
    spelling of the term is tried; ``%`` and ``_`` in the term match only themselves.
    """
    patterns = [_like_pattern(s) for s in dict.fromkeys(_spellings(text))]

    def matches(*columns) -> ColumnElement[bool]:
        return or_(*(cast(c, Text).ilike(p, escape="\\") for c in columns for p in patterns))

    in_steps = exists().where(ExecutionStep.execution_id == Execution.id,
                              matches(ExecutionStep.input, ExecutionStep.output, ExecutionStep.error))
    return or_(matches(Execution.input, Execution.output, Execution.error), in_steps)


def _spellings(text: str) -> list[str]:
    return [text, json.dumps(text)[1:-1], json.dumps(text, ensure_ascii=False)[1:-1]]


def _like_pattern(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def execution_detail(session: Session, execution: Execution) -> ExecutionOut:
    steps = session.scalars(select(ExecutionStep).where(ExecutionStep.execution_id == execution.id)
                            .order_by(ExecutionStep.started_at, ExecutionStep.run_index, ExecutionStep.id))
    fields = summary(execution).model_dump()
    if execution.workflow_id:
        fields["workflow_name"] = session.scalar(select(Workflow.name).where(Workflow.id == execution.workflow_id))
    return ExecutionOut(
        **fields, version_id=execution.version_id, parent_execution_id=execution.parent_execution_id,
        definition=masked(execution.definition), input=execution.input, output=execution.output,
        error_detail=execution.error, resume_at=execution.resume_at, attempts=execution.attempts,
        steps=[_step(step, execution.team_id) for step in steps])


def summary(row) -> ExecutionSummary:
    return ExecutionSummary(
        id=row.id, workflow_id=row.workflow_id, workflow_name=getattr(row, "workflow_name", None),
        status=row.status, mode=row.mode, retry_of_id=row.retry_of_id,
        created_at=row.created_at, started_at=row.started_at, finished_at=row.finished_at,
        duration_ms=duration_ms(row.started_at, row.finished_at), error=error_summary(row.error))


def _step(step: ExecutionStep, team_id: str) -> StepOut:
    return StepOut(
        node_id=step.node_id, node_name=step.node_name, run_index=step.run_index, status=step.status,
        attempts=step.attempts, input=_payload(step, step.input, step.input_ref, team_id),
        output=_payload(step, step.output, step.output_ref, team_id), error=step.error, started_at=step.started_at,
        finished_at=step.finished_at, duration_ms=duration_ms(step.started_at, step.finished_at))


SPILLED_PREVIEW_ITEMS = 100  # a spilled port shows its first items (and how many there are), never all


def _payload(step: ExecutionStep, inline: dict | None, ref: str | None, team_id: str) -> dict | None:
    try:
        ports = resolve_payload(inline, ref)
        return _previewed(ports, StorageItemSpill(get_storage(), team_id, step.execution_id))
    except (OSError, ValueError):  # offloaded data deleted or damaged: show the rest of the execution
        log.warning("offloaded step data unreadable", extra={"execution_id": step.execution_id, "ref": ref})
        return None


def _previewed(ports: dict, spill: StorageItemSpill) -> dict:
    """Each spilled port as ``{"$spilled": {... "count"}, "preview": [first items]}``."""
    revived = revive(ports, spill)
    if revived is ports or not isinstance(ports, dict):
        return ports
    shown = {}
    for port, items in revived.items():
        if isinstance(items, ItemStream):
            first = next(items.batches(), [])[:SPILLED_PREVIEW_ITEMS]
            shown[port] = {**items.marker(), "preview": first}
        else:
            shown[port] = items
    return shown


def duration_ms(started: datetime | None, finished: datetime | None) -> int | None:
    if started is None or finished is None:
        return None
    return int((finished - started).total_seconds() * 1000)


def error_summary(error: dict | None) -> str | None:
    if not error:
        return None
    message = str(error.get("message") or "failed")
    node = error.get("node")
    if not node or message.startswith(f"node {node!r}:"):  # the engine's messages often name it already
        return message
    return f"node {node!r}: {message}"
