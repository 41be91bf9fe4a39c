"""Plans and what a team is on: the limits, the subscription state and the current period.

``LINKFLOW_BILLING_BACKEND=free`` (the embedded default) turns every limit off: nothing here is
consulted on the request path then (see ``enabled``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from backend.billing.models import FREE_PLAN, Plan, Subscription
from backend.billing.periods import Period, period_at
from backend.db.base import utcnow
from backend.errors import NotFound
from backend.settings import get_settings
from backend.users.models import Team

EDITABLE = ("name", "position", "is_public", "price_monthly_cents", "price_yearly_cents", "executions_limit",
            "overage_limit", "active_workflows_limit", "members_limit", "history_days", "stripe_price_monthly",
            "stripe_price_yearly", "stripe_price_overage")
PAYING = frozenset({"active", "trialing", "past_due"})  # Stripe statuses that keep a paid plan


def enabled() -> bool:
    """Whether plans, quotas and Stripe are live (``LINKFLOW_BILLING_BACKEND=stripe``)."""
    return get_settings().billing.backend == "stripe"


@dataclass(frozen=True, slots=True)
class Limits:
    executions: int | None  # included per period; None: unlimited
    overage: int | None  # more, billed per execution; None: unlimited
    active_workflows: int | None
    members: int | None
    history_days: int | None

    @property
    def executions_cap(self) -> int | None:
        """Included + overage executions per period; None: unlimited."""
        if self.executions is None or self.overage is None:
            return None
        return self.executions + self.overage

    @classmethod
    def of(cls, plan: Plan) -> Limits:
        return cls(plan.executions_limit, plan.overage_limit, plan.active_workflows_limit, plan.members_limit,
                   plan.history_days)


@dataclass(frozen=True, slots=True)
class TeamPlan:
    """Everything billing knows about one team at one moment."""

    team_id: str
    team_name: str
    plan_id: str
    plan_name: str
    limits: Limits
    status: str
    interval: str
    period: Period
    customer_id: str | None
    subscription_id: str | None
    overage_price: str | None
    cancel_at_period_end: bool = False
    payment_failed_at: datetime | None = None
    grace_until: datetime | None = None

    @property
    def bills_overage(self) -> bool:
        """Executions past the included ones are billed (a paid plan with a metered price in Stripe)."""
        return bool(self.overage_price and self.customer_id and self.plan_id != FREE_PLAN)

    @property
    def executions_cap(self) -> int | None:
        """How many executions may run in the period: the included ones, plus the overage the plan
        allows when it can be billed. None: unlimited."""
        if not self.bills_overage:
            return self.limits.executions
        return self.limits.executions_cap


def list_plans(session: Session, *, public_only: bool = False) -> list[Plan]:
    query = select(Plan).order_by(Plan.position, Plan.id)
    if public_only:
        query = query.where(Plan.is_public)
    return list(session.scalars(query))


def get_plan(session: Session, plan_id: str) -> Plan:
    plan = session.get(Plan, plan_id)
    if plan is None:
        raise NotFound(f"plan {plan_id!r} does not exist; GET /api/v1/billing/plans lists them")
    return plan


def update_plan(session: Session, plan_id: str, changes: dict) -> tuple[Plan, dict]:
    """Change a plan's editable fields; returns the plan and what changed ({field: {from, to}})."""
    plan = get_plan(session, plan_id)
    changed = {}
    for name, value in changes.items():
        if name in EDITABLE and getattr(plan, name) != value:
            changed[name] = {"from": getattr(plan, name), "to": value}
            setattr(plan, name, value)
    if changed:
        plan.updated_at = utcnow()
    return plan, changed


def team_plan(session: Session, team_id: str, at: datetime | None = None) -> TeamPlan | None:
    """The team's plan and period at ``at`` (default now); None if the team does not exist."""
    row = session.execute(select(Team.name, Subscription).outerjoin(Subscription, Subscription.team_id == Team.id)
                          .where(Team.id == team_id)).first()
    if row is None:
        return None
    name, subscription = row
    plan = session.get(Plan, subscription.plan_id if subscription else FREE_PLAN) or session.get(Plan, FREE_PLAN)
    at = at or utcnow()
    if subscription is None:
        return TeamPlan(team_id, name, plan.id, plan.name, Limits.of(plan), "free", "month",
                        period_at(at, None, None, "month"), None, None, plan.stripe_price_overage)
    return TeamPlan(
        team_id, name, plan.id, plan.name, Limits.of(plan), subscription.status, subscription.billing_interval,
        period_at(at, subscription.current_period_start, subscription.current_period_end,
                  subscription.billing_interval),
        subscription.stripe_customer_id, subscription.stripe_subscription_id, plan.stripe_price_overage,
        subscription.cancel_at_period_end, subscription.payment_failed_at, subscription.grace_until)


def lock_team(session: Session, team_id: str) -> None:
    """Make concurrent limit checks of one team take turns until this transaction ends: a row lock on
    PostgreSQL, the database's write lock on SQLite (a write that changes nothing)."""
    session.execute(update(Team).where(Team.id == team_id).values(slug=Team.slug)
                    .execution_options(synchronize_session=False))


def subscription_row(session: Session, team_id: str) -> Subscription:
    """The team's subscription row, made (on Free) if it has none yet."""
    subscription = session.scalar(select(Subscription).where(Subscription.team_id == team_id).with_for_update())
    if subscription is None:
        subscription = Subscription(team_id=team_id, plan_id=FREE_PLAN, status="free")
        session.add(subscription)
        session.flush()
    return subscription
