"""Billing's periodic duties, run by the maintenance loop of every `linkflow worker` and of
`linkflow up` while billing is on (several processes may run them at once; each duty is safe so):

* send overage to Stripe (reporting.py), every ``LINKFLOW_BILLING_REPORT_INTERVAL_SECONDS``;
* move teams whose payment grace period is over to Free (the Stripe subscription is cancelled first);
* delete finished executions past the team's plan's history (``history_days``), and metering records and
  handled Stripe event ids older than ``RECORDS_KEPT`` (the counters stay), every 10 minutes.
"""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from backend.billing import stripe_api
from backend.billing.gate import execution_gate
from backend.billing.models import FREE_PLAN, BillingEvent, Plan, Subscription, UsageRecord
from backend.billing.notices import downgraded_notice, record_for_owners
from backend.billing.plans import enabled
from backend.billing.reporting import report_overage
from backend.billing.subscriptions import downgrade_to_free
from backend.db.base import utcnow
from backend.db.session import session_scope
from backend.errors import UserError
from backend.executions.retention import prune_team
from backend.notifications import once
from backend.settings import get_settings
from backend.users.models import Team

log = logging.getLogger("linkflow.billing.duties")
HISTORY_EVERY_S = 600.0
FIRST_HISTORY_AFTER_S = 60.0
RECORDS_KEPT = timedelta(days=400)  # a year of periods and a reconciliation's worth more
BATCH = 5000
_next: dict[str, float] = {}


async def tick() -> None:
    """One maintenance round: whatever is due. Never raises (the loop must go on)."""
    if not enabled():
        return
    now = time.monotonic()
    _next.setdefault("report", now)
    _next.setdefault("history", now + FIRST_HISTORY_AFTER_S)
    due = [name for name, at in _next.items() if now >= at]
    if not due:
        return
    if "report" in due:
        _next["report"] = now + get_settings().billing.report_interval_seconds
    if "history" in due:
        _next["history"] = now + HISTORY_EVERY_S
    try:
        await asyncio.to_thread(run, "history" in due)
    except Exception:  # the database or Stripe is away: the next round tries again
        log.exception("billing duties failed; retried at the next round")


def run(history: bool = True) -> None:
    report_overage()
    expire_payment_grace()
    if history:
        prune_history()
        prune_records()


def expire_payment_grace(now: datetime | None = None) -> list[str]:
    """Teams past their grace period move to Free; returns their ids."""
    now = now or utcnow()
    with session_scope() as session:
        due = list(session.execute(select(Subscription.team_id, Subscription.stripe_subscription_id).where(
            Subscription.grace_until.is_not(None), Subscription.grace_until <= now,
            Subscription.plan_id != FREE_PLAN)))
    moved = []
    for team_id, stripe_subscription in due:
        if stripe_subscription:
            try:
                stripe_api.cancel_subscription(stripe_subscription)
            except UserError as exc:  # tried again next round; the team stays on its plan meanwhile
                log.warning("could not cancel an unpaid subscription", extra={"team_id": team_id,
                                                                              "error": exc.message})
                continue
        if _downgrade_unpaid(team_id, now):
            moved.append(team_id)
    return moved


def _downgrade_unpaid(team_id: str, now: datetime) -> bool:
    with session_scope() as session:
        sub = session.scalar(select(Subscription).where(Subscription.team_id == team_id).with_for_update())
        if sub is None or sub.grace_until is None or sub.grace_until > now or sub.plan_id == FREE_PLAN:
            return False  # paid meanwhile, or another process did it
        names = downgrade_to_free(session, sub, "the payment grace period ended")
        team = session.get(Team, team_id)
        notice = downgraded_notice(team_id, team.name if team else team_id, f"{team_id}:{now.isoformat()}", names)
        mails = record_for_owners(session, [notice])
    once.deliver(mails)
    if (gate := execution_gate()) is not None:
        gate.forget(team_id)
    return True


def prune_history(now: datetime | None = None) -> int:
    """Finished executions older than the team's plan keeps; how many went."""
    now = now or utcnow()
    with session_scope() as session:
        teams = _retention_by_team(session)
    return sum(prune_team(team_id, now - timedelta(days=days)) for team_id, days in teams)


def _retention_by_team(session: Session) -> list[tuple[str, int]]:
    plan_of = {plan.id: plan.history_days for plan in session.scalars(select(Plan))}
    rows = session.execute(select(Team.id, Subscription.plan_id).outerjoin(Subscription, Subscription.team_id == Team.id))
    return [(team_id, plan_of[plan_id or FREE_PLAN]) for team_id, plan_id in rows
            if plan_of.get(plan_id or FREE_PLAN)]


def prune_records(now: datetime | None = None) -> int:
    """Metering records and handled Stripe event ids past ``RECORDS_KEPT``; the period counters stay."""
    before, total = (now or utcnow()) - RECORDS_KEPT, 0
    for model, column, key in ((UsageRecord, UsageRecord.counted_at, UsageRecord.execution_id),
                               (BillingEvent, BillingEvent.received_at, BillingEvent.id)):
        while True:
            with session_scope() as session:
                ids = list(session.scalars(select(key).where(column < before).limit(BATCH)))
                if ids:
                    session.execute(delete(model).where(key.in_(ids)).execution_options(synchronize_session=False))
            total += len(ids)
            if len(ids) < BATCH:
                break
    return total
