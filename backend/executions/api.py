"""HTTP API of executions: /api/v1/executions. Viewers read; editors and above cancel, retry, delete."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response
from pydantic import AfterValidator
from sqlalchemy.orm import Session

from backend.auth.deps import Principal, require_role
from backend.db.base import MAX_INT, utcnow
from backend.db.deps import CommittingRoute, db_session
from backend.executions import bulk, control, history, stats
from backend.executions.dispatch import commit_then_dispatch
from backend.executions.models import ExecutionMode, ExecutionStatus
from backend.executions.schemas import (
    BulkRequest,
    BulkResult,
    BulkRetryRequest,
    ExecutionAccepted,
    ExecutionOut,
    ExecutionPage,
    ExecutionStats,
    ExecutionSummary,
)
from backend.search import service as search_service
from backend.search.service import ExecutionFilters
from backend.settings import get_settings
from backend.users.models import Role

router = APIRouter(route_class=CommittingRoute, prefix="/executions", tags=["executions"])

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
MAX_SEARCH = 200


SearchText = Annotated[str, Query(min_length=1, max_length=MAX_SEARCH,
                                   description="text to find in the trigger data, outputs, errors and steps' data")]


@router.get("", response_model=ExecutionPage)
def list_executions(
    db: Db, who: Viewer, workflow_id: str | None = None, status: ExecutionStatus | None = None,
    mode: ExecutionMode | None = None, started_after: UtcTime | None = None, started_before: UtcTime | None = None,
    q: SearchText | None = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20, offset: Annotated[int, Query(ge=0, le=MAX_INT)] = 0,
) -> ExecutionPage:
    """Newest first; every filter is optional and they combine. With LINKFLOW_SEARCH_BACKEND=elasticsearch,
    `q` is answered by Elasticsearch (words and word prefixes rather than any substring)."""
    if q and get_settings().search.backend == "elasticsearch":
        filters = ExecutionFilters(workflow_id, status, mode, started_after, started_before)
        items, total = search_service.execution_page(db, who.team_id, q, filters, limit, offset)
        return ExecutionPage(items=items, total=total, limit=limit, offset=offset)
    items, total = history.list_executions(
        db, who.team_id, workflow_id=workflow_id, status=status, mode=mode, started_after=started_after,
        started_before=started_before, q=q, limit=limit, offset=offset)
    return ExecutionPage(items=items, total=total, limit=limit, offset=offset)


@router.get("/stats", response_model=ExecutionStats)
def execution_stats(db: Db, who: Viewer, since: UtcTime | None = None, until: UtcTime | None = None,
                    workflow_id: str | None = None) -> ExecutionStats:
    """Per hour and status, duration percentiles and top failures over `since`..`until` (default: the
    last 24 hours; at most 31 days)."""
    since, until = stats.resolve_range(since, until, utcnow())
    return stats.execution_stats(db, who.team_id, since, until, workflow_id)


@router.post("/bulk-delete", response_model=BulkResult)
def bulk_delete(body: BulkRequest, db: Db, who: Editor) -> BulkResult:
    """Delete finished executions; each id gets its outcome (deleted, skipped with the reason, not_found)."""
    result = bulk.bulk_delete(db, who.team_id, body.ids)
    db.commit()
    for outcome in result.results:
        if outcome.outcome == "deleted":
            control.discard_offloaded(who.team_id, outcome.id)
    return result


@router.post("/bulk-retry", response_model=BulkResult)
def bulk_retry(body: BulkRetryRequest, db: Db, who: Editor) -> BulkResult:
    """Retry finished executions; each retried id names its new execution."""
    result = bulk.bulk_retry(db, who.team_id, body.ids, from_failed_step=body.from_failed_step)
    commit_then_dispatch(db, *(o.execution_id for o in result.results if o.execution_id))
    return result


@router.get("/{execution_id}", response_model=ExecutionOut)
def get_execution(execution_id: str, db: Db, who: Viewer) -> ExecutionOut:
    return history.execution_detail(db, history.get_execution(db, who.team_id, execution_id))


@router.post("/{execution_id}/cancel", response_model=ExecutionSummary)
def cancel_execution(execution_id: str, db: Db, who: Editor) -> ExecutionSummary:
    execution = control.cancel_execution(db, history.get_execution(db, who.team_id, execution_id))
    return history.summary(execution)


@router.post("/{execution_id}/resume", response_model=ExecutionSummary)
def resume_execution(execution_id: str, db: Db, who: Editor) -> ExecutionSummary:
    """End a waiting execution's timed wait now (a Wait node for a duration or until a time)."""
    execution = control.resume_execution(db, history.get_execution(db, who.team_id, execution_id))
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
    control.discard_offloaded(who.team_id, execution_id)
    return Response(status_code=204)


def _retry(db: Session, who: Principal, execution_id: str, from_failed_step: bool) -> ExecutionAccepted:
    original = history.get_execution(db, who.team_id, execution_id)
    retry = control.retry_execution(db, original, from_failed_step=from_failed_step)
    accepted = ExecutionAccepted(execution_id=retry.id, status=retry.status)
    commit_then_dispatch(db, retry.id)
    return accepted

