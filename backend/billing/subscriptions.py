"""Changes to a team's subscription: the only writer of ``subscriptions``.

States come from Stripe's signed events (stripe_events.py) and from the grace-period duty
(duties.py). Moving to Free deactivates the workflows past Free's limit (the most recently
changed ones stay active); nothing is deleted, and members stay (new ones wait for room).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.auth import audit
from backend.billing.models import FREE_PLAN, Plan, Subscription
from backend.billing.periods import MONTHS, add_months
from backend.db.base import utcnow
from backend.settings import get_settings
from backend.workflows.models import Workflow

ENDED = frozenset({"canceled", "incomplete_expired"})
UNPAID = frozenset({"past_due", "unpaid"})
GOOD = frozenset({"active", "trialing"})


@dataclass(frozen=True)
class StripeSubscription:
    """The fields LinkFlow reads from a Stripe subscription object (a snapshot in a signed event)."""

    id: str
    customer: str
    status: str
    price_ids: tuple[str, ...]
    plan_hint: str | None  # metadata.plan_id set at checkout
    interval: str | None
    period_start: datetime | None
    period_end: datetime | None
    cancel_at_period_end: bool

    @classmethod
    def parse(cls, obj: dict) -> StripeSubscription:
        items = ((obj.get("items") or {}).get("data") or [])
        first = items[0] if items else {}
        prices = tuple(str((item.get("price") or {}).get("id")) for item in items if item.get("price"))
        recurring = ((first.get("price") or {}).get("recurring") or {})
        start = first.get("current_period_start") or obj.get("current_period_start")
        end = first.get("current_period_end") or obj.get("current_period_end")
        return cls(id=str(obj.get("id")), customer=str(obj.get("customer") or ""), status=str(obj.get("status")),
                   price_ids=prices, plan_hint=(obj.get("metadata") or {}).get("plan_id"),
                   interval=recurring.get("interval"), period_start=_time(start), period_end=_time(end),
                   cancel_at_period_end=bool(obj.get("cancel_at_period_end")))


def _time(seconds: object) -> datetime | None:
    return datetime.fromtimestamp(seconds, UTC) if isinstance(seconds, int) and seconds > 0 else None


def plan_for_prices(session: Session, price_ids: tuple[str, ...], hint: str | None) -> tuple[str | None, str | None]:
    """(plan id, interval) whose monthly or yearly price is among ``price_ids``; else the checkout's hint."""
    for plan in session.scalars(select(Plan)):
        if plan.stripe_price_monthly and plan.stripe_price_monthly in price_ids:
            return plan.id, "month"
        if plan.stripe_price_yearly and plan.stripe_price_yearly in price_ids:
            return plan.id, "year"
    if hint and session.get(Plan, hint) is not None:
        return hint, None
    return None, None


def apply_checkout(sub: Subscription, *, plan_id: str, interval: str, subscription_id: str, paid: bool,
                   at: datetime) -> None:
    """A completed Checkout: once paid, the team is on ``plan_id`` (until a subscription event says more);
    unpaid (a payment method that settles later), it waits for the subscription to turn active."""
    new_subscription = sub.stripe_subscription_id != subscription_id
    if not paid:
        if sub.status not in GOOD | UNPAID:  # a paying team keeps its subscription meanwhile
            sub.stripe_subscription_id, sub.status = subscription_id, "incomplete"
        return
    sub.stripe_subscription_id = subscription_id
    sub.plan_id, sub.billing_interval, sub.status = plan_id, interval, "active"
    if new_subscription or sub.current_period_start is None:
        sub.current_period_start = at
        sub.current_period_end = add_months(at, MONTHS.get(interval, 1))
        sub.cancel_at_period_end = False
    clear_payment_failure(sub)


def apply_subscription(session: Session, sub: Subscription, state: StripeSubscription, *, deleted: bool) -> str:
    """Take Stripe's snapshot; returns what happened: ``updated``, ``past_due`` or ``ended``."""
    plan_id, interval = plan_for_prices(session, state.price_ids, state.plan_hint)
    sub.stripe_subscription_id = state.id
    sub.status = "canceled" if deleted else state.status
    sub.cancel_at_period_end = state.cancel_at_period_end
    if state.period_start and state.period_end:
        sub.current_period_start, sub.current_period_end = state.period_start, state.period_end
    if plan_id and state.status in GOOD | UNPAID:  # an incomplete subscription grants nothing yet
        sub.plan_id = plan_id
    sub.billing_interval = interval or state.interval or sub.billing_interval
    if deleted or state.status in ENDED:
        return "ended"
    if state.status in UNPAID:
        start_payment_grace(sub, utcnow())
        return "past_due"
    if state.status in GOOD:
        clear_payment_failure(sub)
    return "updated"


def start_payment_grace(sub: Subscription, at: datetime) -> bool:
    """A payment failed: the grace period starts (once; a second failure does not extend it)."""
    if sub.payment_failed_at is not None:
        return False
    sub.payment_failed_at = at
    sub.grace_until = at + timedelta(days=get_settings().billing.payment_grace_days)
    if sub.status in GOOD:
        sub.status = "past_due"
    return True


def clear_payment_failure(sub: Subscription) -> None:
    sub.payment_failed_at = sub.grace_until = None
    if sub.status in UNPAID:
        sub.status = "active"


def downgrade_to_free(session: Session, sub: Subscription, reason: str) -> list[str]:
    """Move the team to Free; returns the names of the workflows deactivated to fit Free's limit."""
    from backend.workflows import activation  # activation calls billing's limits: import here, not at the top

    was = sub.plan_id
    sub.plan_id, sub.status, sub.billing_interval = FREE_PLAN, "free", "month"
    sub.stripe_subscription_id = None
    sub.current_period_start = sub.current_period_end = None
    sub.cancel_at_period_end = False
    sub.payment_failed_at = sub.grace_until = None
    free = session.get(Plan, FREE_PLAN)
    allowed = free.active_workflows_limit if free is not None else None
    active = list(session.scalars(select(Workflow).where(Workflow.team_id == sub.team_id, Workflow.active.is_(True))
                                  .order_by(Workflow.updated_at.desc(), Workflow.id)))
    beyond = active[allowed:] if allowed is not None else []
    for workflow in beyond:
        activation.deactivate(session, workflow, user_id=None)
    audit.record(session, "billing.downgrade", actor_id=None, team_id=sub.team_id, object_type="subscription",
                 object_id=sub.id, details={"from": was, "to": FREE_PLAN, "reason": reason,
                                            "deactivated": [w.id for w in beyond]})
    return [w.name for w in beyond]
