from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from backend.db.base import Base, IdMixin, TimestampMixin, utcnow


class Notification(IdMixin, Base):
    __tablename__ = "notifications"
    __table_args__ = (Index(None, "user_id", "created_at"),)

    team_id: Mapped[str | None] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"))
    user_id: Mapped[str | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    channel: Mapped[str] = mapped_column(String(16), default="in_app")  # in_app|email
    kind: Mapped[str] = mapped_column(String(64))  # e.g. execution.failed
    subject: Mapped[str] = mapped_column(String(300), default="")
    body: Mapped[str] = mapped_column(Text, default="")
    payload: Mapped[dict] = mapped_column(default=dict)
    status: Mapped[str] = mapped_column(String(16), default="pending")  # pending|sent|failed
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None]
    read_at: Mapped[datetime | None]


class NotificationPreference(IdMixin, Base):
    __tablename__ = "notification_preferences"

    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), unique=True)
    email_on_failure: Mapped[bool] = mapped_column(default=True)


class NotificationChannel(IdMixin, TimestampMixin, Base):
    """Where a rule's messages go: in_app, email, slack, teams or webhook. Secrets (webhook URLs, the
    signing secret) are sealed with the vault's key into `ciphertext`; `config` holds the rest."""

    __tablename__ = "notification_channels"
    __table_args__ = (UniqueConstraint("team_id", "name"),)

    team_id: Mapped[str] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(16))
    config: Mapped[dict] = mapped_column(default=dict)
    key_id: Mapped[str | None] = mapped_column(String(32))
    ciphertext: Mapped[bytes | None] = mapped_column(LargeBinary)
    created_by: Mapped[str | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))


class NotificationRule(IdMixin, TimestampMixin, Base):
    """When to send: on a failure, a recovery, a run longer than `threshold_s`, or an error workflow
    firing; for one workflow, or every workflow of the team (workflow_id NULL)."""

    __tablename__ = "notification_rules"

    team_id: Mapped[str] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    workflow_id: Mapped[str | None] = mapped_column(ForeignKey("workflows.id", ondelete="CASCADE"))
    channel_id: Mapped[str] = mapped_column(ForeignKey("notification_channels.id", ondelete="CASCADE"), index=True)
    trigger: Mapped[str] = mapped_column(String(16))  # failure|recovery|long_run|error_workflow
    threshold_s: Mapped[int | None]  # long_run: runs longer than this many seconds
    window_s: Mapped[int] = mapped_column(default=600)  # one message per burst of this length
    enabled: Mapped[bool] = mapped_column(default=True)
    created_by: Mapped[str | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))


class NotificationRuleState(Base):
    """A rule's memory per workflow: failures in a row (for recovery) and the open burst (for dedup)."""

    __tablename__ = "notification_rule_states"

    rule_id: Mapped[str] = mapped_column(ForeignKey("notification_rules.id", ondelete="CASCADE"),
                                         primary_key=True)
    workflow_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    failures_in_row: Mapped[int] = mapped_column(default=0)
    window_started_at: Mapped[datetime | None]  # when the last message went out
    suppressed: Mapped[int] = mapped_column(default=0)  # occurrences since then, not told yet
    first_suppressed_at: Mapped[datetime | None]
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class NotificationSeen(Base):
    """(rule, execution event) pairs already evaluated: a redelivered execution event changes nothing."""

    __tablename__ = "notification_seen"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    rule_id: Mapped[str] = mapped_column(ForeignKey("notification_rules.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class NotificationDelivery(Base):
    """One message a rule requested (its id is the event's request_id): pending until sent once."""

    __tablename__ = "notification_deliveries"
    __table_args__ = (Index(None, "team_id", "created_at"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    team_id: Mapped[str] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"))
    channel_id: Mapped[str | None] = mapped_column(ForeignKey("notification_channels.id", ondelete="SET NULL"))
    rule_id: Mapped[str | None] = mapped_column(ForeignKey("notification_rules.id", ondelete="SET NULL"))
    title: Mapped[str] = mapped_column(String(500), default="")
    status: Mapped[str] = mapped_column(String(16), default="pending")  # pending|sent|failed
    attempts: Mapped[int] = mapped_column(default=0)
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None]
