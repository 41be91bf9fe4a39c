"""Audit events for sign-ins, members and keys, written to the outbox in the caller's transaction."""

from __future__ import annotations

from sqlalchemy.orm import Session

from backend.events.outbox import emit


def record(session: Session, action: str, *, actor_id: str | None, team_id: str | None,
           object_type: str, object_id: str, details: dict | None = None) -> None:
    """Emit one `audit.log` event, keyed by team (else actor) so a team's trail stays in order."""
    payload = {"action": action, "actor_id": actor_id, "team_id": team_id, "object_type": object_type,
               "object_id": object_id, "details": details or {}}
    emit(session, "audit.log", team_id or actor_id or object_id, payload)
