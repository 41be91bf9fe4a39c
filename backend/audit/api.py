"""/api/v1/audit: the team's audit trail for its admins and owners, as pages or one CSV file."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from fastapi.responses import StreamingResponse
from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.audit import service
from backend.audit.models import AuditLog
from backend.audit.schemas import AuditActions, AuditEntryOut, AuditPage
from backend.auth.deps import Principal, require_role
from backend.db.base import MAX_INT
from backend.db.deps import CommittingRoute, DbSession
from backend.db.session import session_scope
from backend.errors import UserError
from backend.users.models import Role, User
from backend.users.service import find_by_email

router = APIRouter(route_class=CommittingRoute, prefix="/audit", tags=["audit"])

TeamAdmin = Annotated[Principal, Depends(require_role(Role.ADMIN))]


@dataclass(frozen=True)
class AuditQuery:
    actor: str | None
    action: str | None
    target_type: str | None
    target_id: str | None
    since: datetime | None
    until: datetime | None

    def filters(self, session: Session) -> service.AuditFilter:
        if self.since and self.until and _utc(self.since) >= _utc(self.until):
            raise UserError(f"since ({self.since.isoformat()}) must be before until ({self.until.isoformat()})")
        return service.AuditFilter(action=self.action or None, actor_id=_actor_id(session, self.actor),
                                   object_type=self.target_type or None, object_id=self.target_id or None,
                                   since=_utc(self.since), until=_utc(self.until))


def audit_query(
    actor: Annotated[str | None, Query(max_length=320, description="a user id or email")] = None,
    action: Annotated[str | None, Query(max_length=100, description="e.g. workflow.activate, or workflow.*")] = None,
    target_type: Annotated[str | None, Query(max_length=50, description="e.g. workflow, user, credential")] = None,
    target_id: Annotated[str | None, Query(max_length=32)] = None,
    since: Annotated[datetime | None, Query(description="from this time on (ISO 8601; UTC if no zone)")] = None,
    until: Annotated[datetime | None, Query(description="before this time (exclusive)")] = None,
) -> AuditQuery:
    return AuditQuery(actor, action, target_type, target_id, since, until)


Filters = Annotated[AuditQuery, Depends(audit_query)]


def _utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _actor_id(session: Session, actor: str | None) -> str | None:
    if not actor:
        return None
    if "@" not in actor:
        return actor
    user = find_by_email(session, actor)
    # An unknown email matches nothing (no entry has an empty actor), so the filter does not tell
    # which emails have accounts on this instance.
    return user.id if user is not None else ""


@router.get("", response_model=AuditPage)
def list_audit(who: TeamAdmin, session: DbSession, query: Filters,
               limit: Annotated[int, Query(ge=1, le=service.MAX_PAGE)] = 50,
               offset: Annotated[int, Query(ge=0, le=MAX_INT)] = 0) -> AuditPage:
    """Who did what and when in this team, newest first (team admins and owners)."""
    rows, total = service.list_audit(session, who.team_id, query.filters(session), limit=limit, offset=offset)
    return AuditPage(items=_entries(session, rows), total=total, limit=limit, offset=offset)


@router.get("/actions", response_model=AuditActions)
def list_actions(who: TeamAdmin, session: DbSession) -> AuditActions:
    """The actions that occur in this team's trail (team admins and owners)."""
    return AuditActions(actions=service.distinct_actions(session, who.team_id))


@router.get("/export.csv", response_class=StreamingResponse,
            responses={200: {"content": {"text/csv": {}}, "description": "the matching entries as CSV"}})
def export_csv(who: TeamAdmin, session: DbSession, query: Filters) -> StreamingResponse:
    """The matching entries as a CSV download, newest first, at most 100,000 rows
    (team admins and owners). Cells a spreadsheet would run as formulas are quoted."""
    filters = query.filters(session)
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    headers = {"Content-Disposition": f'attachment; filename="linkflow-audit-{stamp}.csv"',
               "Cache-Control": "no-store"}
    return StreamingResponse(_csv(who.team_id, filters), media_type="text/csv; charset=utf-8", headers=headers)


def _csv(team_id: str, filters: service.AuditFilter) -> Iterator[str]:
    # Its own session: the request's unit of work ends before the response body is streamed.
    with session_scope() as session:
        yield from service.export_csv(session, team_id, filters)


def entries(session: Session, rows: list[AuditLog]) -> list[AuditEntryOut]:
    """Rows as API entries, with the actors' email and name."""
    return _entries(session, rows)


def _entries(session: Session, rows: list[AuditLog]) -> list[AuditEntryOut]:
    ids = {row.actor_id for row in rows if row.actor_id}
    people = {u.id: u for u in session.execute(select(User.id, User.email, User.name).where(User.id.in_(ids)))}
    return [AuditEntryOut(id=row.id, created_at=row.created_at, action=row.action, actor_type=row.actor_type,
                          actor_id=row.actor_id,
                          actor_email=people[row.actor_id].email if row.actor_id in people else None,
                          actor_name=people[row.actor_id].name if row.actor_id in people else None,
                          target_type=row.object_type, target_id=row.object_id, ip=row.ip,
                          details=row.details or {}, team_id=row.team_id) for row in rows]
