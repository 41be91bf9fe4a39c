"""Audit events for sign-ins, members and keys, written to the outbox in the caller's transaction."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.events.outbox import emit
from backend.users.models import Membership


def record(session: Session, action: str, *, actor_id: str | None, team_id: str | None,
           object_type: str, object_id: str, details: dict | None = None, ip: str | None = None) -> None:
    """Emit one `audit.log` event, keyed by team (else actor) so a team's trail stays in order."""
    payload = {"action": action, "actor_id": actor_id, "team_id": team_id, "object_type": object_type,
               "object_id": object_id, "details": details or {}}
    if ip:
        payload["ip"] = ip[:64]
    emit(session, "audit.log", team_id or actor_id or object_id, payload)


def record_for_user_teams(session: Session, action: str, user_id: str, *, actor_id: str | None,
                          details: dict | None = None, ip: str | None = None) -> None:
    """An account event (sign-in, sign-out) in the trail of every team the user belongs to, so each
    team's admins see it; a user without a team gets one team-less entry."""
    teams = session.scalars(select(Membership.team_id).where(Membership.user_id == user_id)
                            .order_by(Membership.created_at, Membership.id)).all() or [None]
    for team_id in teams:
        record(session, action, actor_id=actor_id, team_id=team_id, object_type="user", object_id=user_id,
               details=details, ip=ip)


def record_for_account(session: Session, action: str, user_id: str | None, *, email: str,
                       actor_id: str | None = None, details: dict | None = None, ip: str | None = None) -> None:
    """An event about the account an email names: in its teams' trails when it exists, else one
    team-less entry (instance admins see those) keeping the email as typed, normalised."""
    if user_id is None:
        record(session, action, actor_id=None, team_id=None, object_type="user", object_id="",
               details={**(details or {}), "email": email.strip().lower()[:320]}, ip=ip)
        return
    record_for_user_teams(session, action, user_id, actor_id=actor_id, details=details, ip=ip)
