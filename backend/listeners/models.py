from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from backend.db.base import Base, IdMixin, utcnow


class TriggerListener(IdMixin, Base):
    """One listener trigger node (Redis Trigger, Kafka Trigger) of an active workflow, and how it is doing."""

    __tablename__ = "trigger_listeners"
    __table_args__ = (UniqueConstraint("workflow_id", "node_id"),)

    team_id: Mapped[str] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"), index=True)
    workflow_id: Mapped[str] = mapped_column(ForeignKey("workflows.id", ondelete="CASCADE"))
    version_id: Mapped[str] = mapped_column(String(32))
    node_id: Mapped[str] = mapped_column(String(100))
    node_type: Mapped[str] = mapped_column(String(100))
    status: Mapped[str] = mapped_column(String(16), default="starting")  # starting|listening|error
    error: Mapped[str | None] = mapped_column(Text)
    detail: Mapped[str] = mapped_column(String(500), default="")
    messages: Mapped[int] = mapped_column(default=0)
    last_message_at: Mapped[datetime | None]
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
