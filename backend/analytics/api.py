"""HTTP API of Insights: /api/v1/analytics. Every answer is about the caller's team only."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path, Query
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from backend.analytics import queries
from backend.auth.deps import Principal, require_role
from backend.db.deps import CommittingRoute, db_session
from backend.users.models import Role
from backend.workflows.service import audit, get_workflow

router = APIRouter(route_class=CommittingRoute, prefix="/analytics", tags=["analytics"])

Db = Annotated[Session, Depends(db_session)]
Viewer = Annotated[Principal, Depends(require_role(Role.VIEWER))]
Editor = Annotated[Principal, Depends(require_role(Role.EDITOR))]
Since = Annotated[datetime | None, Query(description="start (ISO 8601 with a time zone); default 7 days ago")]
Until = Annotated[datetime | None, Query(description="end, exclusive; default now")]
Limit = Annotated[int, Query(ge=1, le=200)]
WorkflowId = Annotated[str | None, Query(max_length=32)]
WorkflowPath = Annotated[str, Path(max_length=32)]
Granularity = Literal["hour", "day"]
MAX_MINUTES = 10_000.0  # a week of work per run is already generous


class TimeSavedBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    minutes_per_run: Annotated[float, Field(ge=0, le=MAX_MINUTES, allow_inf_nan=False)] | None = Field(
        description=f"minutes one successful production run saves (0 to {MAX_MINUTES:g}); null clears it")


def _range(since: datetime | None, until: datetime | None) -> tuple[datetime, datetime]:
    until = until or datetime.now(UTC)
    return since or until - timedelta(days=7), until


@router.get("/summary")
def summary(db: Db, who: Viewer, since: Since = None, until: Until = None,
            granularity: Granularity = "day", workflow_id: WorkflowId = None) -> dict:
    """Executions by status and mode, failure rate, duration percentiles, time saved, webhook latency, the same
    totals for the previous period of the same length, and a series per hour or day."""
    start, end = _range(since, until)
    if workflow_id is not None:
        get_workflow(db, who.team_id, workflow_id)  # another team's workflow answers 404, like a missing one
    return queries.summary(db, who.team_id, since=start, until=end, granularity=granularity, workflow_id=workflow_id)


@router.get("/workflows")
def workflows(db: Db, who: Viewer, since: Since = None, until: Until = None, granularity: Granularity = "day",
              sort: Literal[queries.SORTS] = "executions", direction: Literal["desc", "asc"] = "desc",
              limit: Limit = 50) -> dict:
    """One row per workflow: runs, failures, failure rate, average and p95 duration, time saved."""
    start, end = _range(since, until)
    return {"items": queries.workflows(db, who.team_id, since=start, until=end, granularity=granularity, sort=sort,
                                       direction=direction, limit=limit)}


@router.get("/failures")
def failures(db: Db, who: Viewer, since: Since = None, until: Until = None, limit: Limit = 50,
             workflow_id: WorkflowId = None) -> dict:
    """The nodes executions failed in most often (per UTC day: the day `since` falls in counts whole)."""
    start, end = _range(since, until)
    if workflow_id is not None:
        get_workflow(db, who.team_id, workflow_id)
    return {"items": queries.failures(db, who.team_id, since=start, until=end, limit=limit,
                                      workflow_id=workflow_id)}


@router.get("/workflows/{workflow_id}/time-saved")
def get_time_saved(db: Db, who: Viewer, workflow_id: WorkflowPath) -> dict:
    """The minutes one successful production run of this workflow saves (null: not set)."""
    return queries.time_saved(db, get_workflow(db, who.team_id, workflow_id))


@router.put("/workflows/{workflow_id}/time-saved")
def put_time_saved(db: Db, who: Editor, workflow_id: WorkflowPath, body: TimeSavedBody) -> dict:
    """Set the minutes one successful production run saves; Insights counts them for every such run in a range."""
    workflow = get_workflow(db, who.team_id, workflow_id)
    answer = queries.set_time_saved(db, workflow, body.minutes_per_run, who.user_id)
    audit(db, workflow, "workflow.time_saved_update", who.user_id, {"minutes_per_run": body.minutes_per_run})
    return answer
