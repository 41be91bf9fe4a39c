"""Notification preferences and the notifications they lead to. The only writer of their tables."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from backend.db.base import new_id
from backend.notifications.models import NotificationPreference


def _insert(session: Session):
    return {"postgresql": postgresql.insert, "sqlite": sqlite.insert}[session.get_bind().dialect.name]


def email_on_failure(session: Session, user_id: str) -> bool:
    """The user's choice; on (True) until they turn it off."""
    stored = session.scalar(select(NotificationPreference.email_on_failure)
                            .where(NotificationPreference.user_id == user_id))
    return True if stored is None else bool(stored)


def set_email_on_failure(session: Session, user_id: str, enabled: bool) -> bool:
    # An upsert: two tabs saving at once must not collide on the unique user_id.
    statement = (_insert(session)(NotificationPreference)
                 .values(id=new_id(), user_id=user_id,
                         email_on_failure=enabled)
                 .on_conflict_do_update(index_elements=["user_id"], set_={"email_on_failure": enabled}))
    session.execute(statement)
    return enabled
