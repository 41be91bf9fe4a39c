"""Request and response bodies of /users/me/notifications."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class NotificationPreferences(BaseModel):
    model_config = ConfigDict(extra="forbid")

    email_on_failure: bool  # mail me when a workflow I created fails (not for manual runs)
