from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from backend.db.base import Base, utcnow
from backend.events.models import BigId


class AuditLog(Base):
    """Append-only: who did what, when. Kept when the actor or object is deleted."""

    __tablename__ = "audit_log"
    __table_args__ = (Index(None, "team_id", "created_at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    team_id: Mapped[str | None] = mapped_column(String(32))
    actor_id: Mapped[str | None] = mapped_column(String(32))
    actor_type: Mapped[str] = mapped_column(String(16), default="user")  # user|api_key|system
    action: Mapped[str] = mapped_column(String(100))  # e.g. workflow.activate
    object_type: Mapped[str | None] = mapped_column(String(50))
    object_id: Mapped[str | None] = mapped_column(String(32))
    details: Mapped[dict] = mapped_column(default=dict)
    ip: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # The outbox id of the audit.log event this row was written from: a redelivery is a no-op.
    event_id: Mapped[int | None] = mapped_column(BigInteger, index=True, unique=True)
