"""Billing tables: plans (data, editable by instance admins), each team's subscription, usage.

Nothing here exists for a team on Free with no Stripe customer: no subscription row means the
Free plan and calendar-month periods.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, String, Text, UniqueConstraint, false, true
from sqlalchemy.orm import Mapped, mapped_column

from backend.db.base import Base, IdMixin, TimestampMixin, utcnow

FREE_PLAN = "free"


class Plan(Base):
    """A plan and its limits. A limit of None is unlimited."""

    __tablename__ = "plans"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)  # free, pro, business
    name: Mapped[str] = mapped_column(String(100))
    position: Mapped[int] = mapped_column(default=0, server_default="0")  # order of the plan cards
    is_public: Mapped[bool] = mapped_column(default=True, server_default=true())  # offered on the billing page
    price_monthly_cents: Mapped[int] = mapped_column(default=0)
    price_yearly_cents: Mapped[int] = mapped_column(default=0, server_default="0")
    executions_limit: Mapped[int | None]  # included executions per billing period
    overage_limit: Mapped[int | None] = mapped_column(default=0, server_default="0")  # extra, billed per execution
    active_workflows_limit: Mapped[int | None]
    members_limit: Mapped[int | None]
    history_days: Mapped[int | None]  # finished executions are kept this long
    stripe_price_monthly: Mapped[str | None] = mapped_column(String(100))
    stripe_price_yearly: Mapped[str | None] = mapped_column(String(100))
    stripe_price_overage: Mapped[str | None] = mapped_column(String(100))  # a metered price on the meter
    updated_at: Mapped[datetime | None]


class Subscription(IdMixin, TimestampMixin, Base):
    """A team's plan and its state in Stripe (from signed webhook events, newest first wins)."""

    __tablename__ = "subscriptions"

    team_id: Mapped[str] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"), unique=True)
    plan_id: Mapped[str] = mapped_column(ForeignKey("plans.id"))
    status: Mapped[str] = mapped_column(String(32), default="free")  # free|active|trialing|past_due|unpaid|canceled
    billing_interval: Mapped[str] = mapped_column(String(8), default="month", server_default="month")
    stripe_customer_id: Mapped[str | None] = mapped_column(String(100), unique=True)
    stripe_subscription_id: Mapped[str | None] = mapped_column(String(100))
    current_period_start: Mapped[datetime | None]
    current_period_end: Mapped[datetime | None]
    cancel_at_period_end: Mapped[bool] = mapped_column(default=False, server_default=false())
    payment_failed_at: Mapped[datetime | None]
    grace_until: Mapped[datetime | None]  # past it, an unpaid team moves to Free
    # `created` (Unix seconds) of the newest Stripe event applied: an older one arriving late is stale.
    stripe_state_at: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")


class Usage(IdMixin, Base):
    """Counters per team and billing period; `executions` is the number of usage_records rows."""

    __tablename__ = "usage"
    __table_args__ = (UniqueConstraint("team_id", "period", "metric"),)

    team_id: Mapped[str] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"))
    period: Mapped[str] = mapped_column(String(20))  # the period's start, e.g. 2026-12-01T00:00:00Z
    metric: Mapped[str] = mapped_column(String(50))  # executions
    quantity: Mapped[int] = mapped_column(default=0)


class UsageRecord(Base):
    """One metered execution: the primary key makes a redelivered execution event count once."""

    __tablename__ = "usage_records"
    __table_args__ = (Index(None, "team_id", "period"), Index(None, "report_id"))

    execution_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    team_id: Mapped[str] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"))
    period: Mapped[str] = mapped_column(String(20))
    seq: Mapped[int]  # its place in the period's count (1, 2, ...)
    mode: Mapped[str] = mapped_column(String(16))
    overage: Mapped[bool] = mapped_column(default=False)  # past the included executions: billed
    report_id: Mapped[str | None] = mapped_column(String(32))  # the meter report that billed it
    occurred_at: Mapped[datetime]
    counted_at: Mapped[datetime] = mapped_column(default=utcnow)


class MeterReport(IdMixin, Base):
    """Overage executions sent to Stripe as one meter event; its id is the event's identifier and
    idempotency key, so sending it again after a crash never bills twice."""

    __tablename__ = "meter_reports"
    __table_args__ = (Index(None, "sent_at"),)

    team_id: Mapped[str] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"))
    stripe_customer_id: Mapped[str] = mapped_column(String(100))
    period: Mapped[str] = mapped_column(String(20))
    quantity: Mapped[int]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None]
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(Text)


class BillingEvent(Base):
    """A Stripe webhook event already handled (by its id): a redelivery changes nothing."""

    __tablename__ = "billing_events"

    id: Mapped[str] = mapped_column(String(255), primary_key=True)  # evt_...
    type: Mapped[str] = mapped_column(String(100))
    created: Mapped[int] = mapped_column(BigInteger)  # Stripe's timestamp of the event
    team_id: Mapped[str | None] = mapped_column(ForeignKey("teams.id", ondelete="SET NULL"))
    outcome: Mapped[str] = mapped_column(String(32))  # applied | stale | ignored
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
