"""/api/v1/users/me/notifications: what you want to be told about, and how."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends

from backend.auth.deps import current_user
from backend.db.deps import CommittingRoute, DbSession
from backend.notifications import service
from backend.notifications.schemas import NotificationPreferences
from backend.users.models import User

router = APIRouter(route_class=CommittingRoute, prefix="/users/me/notifications", tags=["notifications"])

CurrentUser = Annotated[User, Depends(current_user)]


@router.get("", response_model=NotificationPreferences)
def get_preferences(user: CurrentUser, session: DbSession) -> NotificationPreferences:
    """Your notification preferences (`email_on_failure` is on until you turn it off)."""
    return NotificationPreferences(email_on_failure=service.email_on_failure(session, user.id))


@router.put("", response_model=NotificationPreferences)
def put_preferences(body: NotificationPreferences, user: CurrentUser, session: DbSession) -> NotificationPreferences:
    """Set your preferences. With `email_on_failure`, a failed production run (webhook, schedule,
    retry, error workflow; not a manual run from the editor) of a workflow you created mails you."""
    return NotificationPreferences(
        email_on_failure=service.set_email_on_failure(session, user.id, body.email_on_failure))
