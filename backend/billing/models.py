from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from backend.db.base import Base, IdMixin, TimestampMixin


class Plan(Base):
    __tablename__ = "plans"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)  # e.g. "free", "team"
    name: Mapped[str] = mapped_column(String(100))
    price_cents: Mapped[int] = mapped_column(default=0)
    interval: Mapped[str] = mapped_column(String(16), default="month")
    limits: Mapped[dict] = mapped_column(default=dict)  # {"executions_per_month": 5000, ...}
    stripe_price_id: Mapped[str | None] = mapped_column(String(100))


class Subscription(IdMixin, TimestampMixin, Base):
    __tablename__ = "subscriptions"

    team_id: Mapped[str] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"), unique=True)
    plan_id: Mapped[str] = mapped_column(ForeignKey("plans.id"))
    status: Mapped[str] = mapped_column(String(32), default="active")
    stripe_customer_id: Mapped[str | None] = mapped_column(String(100))
    stripe_subscription_id: Mapped[str | None] = mapped_column(String(100))
    current_period_start: Mapped[datetime | None]
    current_period_end: Mapped[datetime | None]


class Usage(IdMixin, Base):
    __tablename__ = "usage"
    __table_args__ = (UniqueConstraint("team_id", "period", "metric"),)

    team_id: Mapped[str] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"))
    period: Mapped[str] = mapped_column(String(7))  # YYYY-MM
    metric: Mapped[str] = mapped_column(String(50))  # executions, steps, ...
    quantity: Mapped[int] = mapped_column(default=0)
