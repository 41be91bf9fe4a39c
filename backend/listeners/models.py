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


class ListenerCursor(Base):
    """Where a listener trigger node got to in its source (the IMAP trigger: mailbox, UIDVALIDITY and the last
    UID queued). Written in the transaction that queues a message's execution, so a restart resumes after the
    last queued message, never before or past it. Kept across deactivation (like n8n's static data);
    deleted with the workflow."""

    __tablename__ = "listener_cursors"

    workflow_id: Mapped[str] = mapped_column(ForeignKey("workflows.id", ondelete="CASCADE"), primary_key=True)
    node_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    state: Mapped[dict]
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
