from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from backend.db.base import Base, IdMixin, utcnow


class Schedule(IdMixin, Base):
    __tablename__ = "schedules"
    __table_args__ = (UniqueConstraint("workflow_id", "node_id"),)

    team_id: Mapped[str] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"), index=True)
    workflow_id: Mapped[str] = mapped_column(ForeignKey("workflows.id", ondelete="CASCADE"))
    node_id: Mapped[str] = mapped_column(String(100))
    cron: Mapped[str] = mapped_column(String(100))
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    misfire_policy: Mapped[str] = mapped_column(String(16), default="run_once")  # skip|run_once|run_all
    overlap_policy: Mapped[str] = mapped_column(String(16), default="allow")  # skip|queue|allow
    enabled: Mapped[bool] = mapped_column(default=True)
    next_run_at: Mapped[datetime | None] = mapped_column(index=True)
    last_run_at: Mapped[datetime | None]
    # overlap_policy "queue": due times (ISO, oldest first) waiting for the previous run to finish.
    backlog: Mapped[list] = mapped_column(default=list, server_default=text("'[]'"))
    backlog_size: Mapped[int] = mapped_column(default=0, server_default=text("0"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
