"""/api/v1/notifications: your in-app notifications in the current team, and marking them read."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, ConfigDict, Field

from backend.auth.deps import Principal, require_role
from backend.db.deps import CommittingRoute, DbSession
from backend.notifications import inbox
from backend.users.models import Role

router = APIRouter(route_class=CommittingRoute, prefix="/notifications", tags=["notifications"])

Member = Annotated[Principal, Depends(require_role(Role.VIEWER))]


class NotificationOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    kind: str  # e.g. execution.failed
    subject: str
    body: str
    payload: dict  # execution.failed: execution_id, workflow_id, mode, node
    created_at: datetime
    read_at: datetime | None = None


class Inbox(BaseModel):
    items: list[NotificationOut]
    unread: int


class MarkRead(BaseModel):
    model_config = ConfigDict(extra="forbid")

    ids: list[Annotated[str, Field(max_length=64)]] | None = Field(
        None, max_length=500, description="the notifications to mark read; omit to mark every one read")


class Marked(BaseModel):
    marked: int


@router.get("", response_model=Inbox)
def list_notifications(who: Member, session: DbSession, unread_only: bool = False,
                       limit: Annotated[int, Query(ge=1, le=100)] = 20) -> Inbox:
    """Your newest in-app notifications in this team (a failed run of a workflow you created, ...)."""
    items, unread = inbox.list_inbox(session, who.user_id, who.team_id, unread_only=unread_only, limit=limit)
    return Inbox(items=[NotificationOut.model_validate(n) for n in items], unread=unread)


@router.post("/read", response_model=Marked)
def mark_read(body: MarkRead, who: Member, session: DbSession) -> Marked:
    return Marked(marked=inbox.mark_read(session, who.user_id, who.team_id, body.ids))
