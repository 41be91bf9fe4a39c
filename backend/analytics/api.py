"""HTTP API of Insights: /api/v1/analytics. Every answer is about the caller's team only."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query
from sqlalchemy.orm import Session

from backend.analytics import queries
from backend.auth.deps import Principal, require_role
from backend.db.deps import db_session
from backend.users.models import Role

router = APIRouter(prefix="/analytics", tags=["analytics"])

Db = Annotated[Session, Depends(db_session)]
Viewer = Annotated[Principal, Depends(require_role(Role.VIEWER))]
Since = Annotated[datetime | None, Query(description="start (ISO 8601 with a time zone); default 7 days ago")]
Until = Annotated[datetime | None, Query(description="end, exclusive; default now")]
Limit = Annotated[int, Query(ge=1, le=200)]
WorkflowId = Annotated[str | None, Query(max_length=32)]


def _range(since: datetime | None, until: datetime | None) -> tuple[datetime, datetime]:
    until = until or datetime.now(UTC)
    return since or until - timedelta(days=7), until


@router.get("/summary")
def summary(db: Db, who: Viewer, since: Since = None, until: Until = None,
            granularity: Literal["hour", "day"] = "day", workflow_id: WorkflowId = None) -> dict:
    """Executions by status and mode, failure rate, duration percentiles and a series per hour or day."""
    start, end = _range(since, until)
    return queries.summary(db, who.team_id, since=start, until=end, granularity=granularity, workflow_id=workflow_id)


@router.get("/workflows")
def workflows(db: Db, who: Viewer, since: Since = None, until: Until = None,
              sort: Literal["executions", "failures", "p95_ms"] = "executions", limit: Limit = 50) -> dict:
    """One row per workflow: runs, failures and p95 duration, sorted by `sort` (largest first)."""
    start, end = _range(since, until)
    return {"items": queries.workflows(db, who.team_id, since=start, until=end, sort=sort, limit=limit)}


@router.get("/failures")
def failures(db: Db, who: Viewer, since: Since = None, until: Until = None, limit: Limit = 50) -> dict:
    """The nodes executions failed in most often."""
    start, end = _range(since, until)
    return {"items": queries.failures(db, who.team_id, since=start, until=end, limit=limit)}
