"""Response bodies of /api/v1/audit."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel


class AuditEntryOut(BaseModel):
    id: int
    created_at: datetime
    action: str
    actor_type: str
    actor_id: str | None
    actor_email: str | None = None  # None: a system action, or the account was deleted
    actor_name: str | None = None
    target_type: str | None
    target_id: str | None
    ip: str | None
    details: dict
    team_id: str | None = None  # None: an instance-level entry (admin actions, unknown sign-ins)


class AuditPage(BaseModel):
    items: list[AuditEntryOut]
    total: int  # every entry matching the filters, not just this page
    limit: int
    offset: int


class AuditActions(BaseModel):
    actions: list[str]  # the distinct actions in the team's trail, for a filter menu
