"""The in-app inbox: a user's `in_app` notifications (e.g. "workflow X failed"), read and marked read."""

from __future__ import annotations

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from backend.db.base import utcnow
from backend.notifications.models import Notification

IN_APP = "in_app"


def _mine(user_id: str, team_id: str):
    return (Notification.user_id == user_id, Notification.team_id == team_id, Notification.channel == IN_APP)


def list_inbox(session: Session, user_id: str, team_id: str, *, unread_only: bool = False,
               limit: int = 20) -> tuple[list[Notification], int]:
    """The newest notifications of this user in this team, and how many are unread."""
    query = select(Notification).where(*_mine(user_id, team_id))
    if unread_only:
        query = query.where(Notification.read_at.is_(None))
    items = list(session.scalars(query.order_by(Notification.created_at.desc(), Notification.id).limit(limit)))
    unread = session.scalar(select(func.count()).select_from(Notification)
                            .where(*_mine(user_id, team_id), Notification.read_at.is_(None)))
    return items, unread or 0


def mark_read(session: Session, user_id: str, team_id: str, ids: list[str] | None) -> int:
    """Mark the given notifications (None: all of them) read; how many changed. Others' ids are ignored."""
    statement = update(Notification).where(*_mine(user_id, team_id), Notification.read_at.is_(None))
    if ids is not None:
        statement = statement.where(Notification.id.in_(ids))
    return session.execute(statement.values(read_at=utcnow()).execution_options(synchronize_session=False)).rowcount
