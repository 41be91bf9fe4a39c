"""HTTP API of executions: /api/v1/executions. Viewers read; editors and above cancel, retry, delete."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response
from pydantic import AfterValidator
from sqlalchemy.orm import Session

from backend.auth.deps import Principal, require_role
from backend.db.base import MAX_INT
from backend.db.deps import db_session
from backend.executions import control, history
from backend.executions.dispatch import commit_then_dispatch
from backend.executions.models import ExecutionStatus
from backend.executions.schemas import ExecutionAccepted, ExecutionOut, ExecutionPage, ExecutionSummary
from backend.users.models import Role

router = APIRouter(prefix="/executions", tags=["executions"])

Db = Annotated[Session, Depends(db_session)]
Viewer = Annotated[Principal, Depends(require_role(Role.VIEWER))]
Editor = Annotated[Principal, Depends(require_role(Role.EDITOR))]


def _in_utc(value: datetime) -> datetime:
    """A time without a zone is taken as UTC, like every time the API returns."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    try:
        return value.astimezone(UTC)
    except OverflowError:  # e.g. 0001-01-01T00:00:00+01:00 is before year 1 in UTC
        raise ValueError("the time is out of range once converted to UTC") from None


UtcTime = Annotated[datetime, AfterValidator(_in_utc)]


@router.get("", response_model=ExecutionPage)
def list_executions(
    db: Db, who: Viewer, workflow_id: str | None = None, status: ExecutionStatus | None = None,
    mode: str | None = None, started_after: UtcTime | None = None, started_before: UtcTime | None = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20, offset: Annotated[int, Query(ge=0, le=MAX_INT)] = 0,
) -> ExecutionPage:
    items, total = history.list_executions(
        db, who.team_id, workflow_id=workflow_id, status=status, mode=mode, started_after=started_after,
        started_before=started_before, limit=limit, offset=offset)
    return ExecutionPage(items=items, total=total, limit=limit, offset=offset)


@router.get("/{execution_id}", response_model=ExecutionOut)
def get_execution(execution_id: str, db: Db, who: Viewer) -> ExecutionOut:
    return history.execution_detail(db, history.get_execution(db, who.team_id, execution_id))


@router.post("/{execution_id}/cancel", response_model=ExecutionSummary)
def cancel_execution(execution_id: str, db: Db, who: Editor) -> ExecutionSummary:
    execution = control.cancel_execution(db, history.get_execution(db, who.team_id, execution_id))
    return history.summary(execution)


@router.post("/{execution_id}/retry", response_model=ExecutionAccepted, status_code=202)
def retry_execution(execution_id: str, db: Db, who: Editor,
                    from_failed_step: Annotated[bool, Query()] = False) -> ExecutionAccepted:
    """Run it again from the start, or (``from_failed_step=true``) from the step that failed."""
    return _retry(db, who, execution_id, from_failed_step)


@router.post("/{execution_id}/retry-from-failed", response_model=ExecutionAccepted, status_code=202)
def retry_from_failed_step(execution_id: str, db: Db, who: Editor) -> ExecutionAccepted:
    return _retry(db, who, execution_id, True)


@router.delete("/{execution_id}", status_code=204)
def delete_execution(execution_id: str, db: Db, who: Editor) -> Response:
    control.delete_execution(db, history.get_execution(db, who.team_id, execution_id))
    db.commit()  # offloaded files go only once the rows are gone for good
    control.discard_offloaded(execution_id)
    return Response(status_code=204)


def _retry(db: Session, who: Principal, execution_id: str, from_failed_step: bool) -> ExecutionAccepted:
    original = history.get_execution(db, who.team_id, execution_id)
    retry = control.retry_execution(db, original, from_failed_step=from_failed_step)
    accepted = ExecutionAccepted(execution_id=retry.id, status=retry.status)
    commit_then_dispatch(db, retry.id)
    return accepted

