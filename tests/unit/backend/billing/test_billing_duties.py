"""Billing's periodic duties without Stripe: history kept as long as each team's plan says, old metering
records and Stripe event ids pruned (counters stay), and the duties do nothing with billing off."""

from __future__ import annotations

from datetime import timedelta

from billing_testkit import counted, link_customer, set_plan
from executions_testkit import add_execution
from sqlalchemy import func, select, update

from backend.billing import duties
from backend.billing.metering import meter_event
from backend.billing.models import BillingEvent, Subscription, UsageRecord
from backend.db.base import utcnow
from backend.db.session import session_scope
from backend.executions.models import Execution


def test_each_team_keeps_the_history_its_plan_allows(owner, api_user):
    pro = api_user("pro@example.com")
    link_customer(pro.team_id, "cus_pro")
    with session_scope() as session:
        session.execute(update(Subscription).where(Subscription.team_id == pro.team_id).values(plan_id="pro"))
    set_plan(history_days=7)  # Free; Pro keeps 30 days
    now = utcnow()
    gone = add_execution(owner.team_id, created_at=now - timedelta(days=10))
    kept_free = add_execution(owner.team_id, created_at=now - timedelta(days=5))
    kept_pro = add_execution(pro.team_id, created_at=now - timedelta(days=10))
    assert duties.prune_history() == 1
    with session_scope() as session:
        assert set(session.scalars(select(Execution.id))) == {kept_free, kept_pro}, f"{gone} was past Free's 7 days"


def test_old_metering_records_and_event_ids_go_and_the_counters_stay(owner):
    for n in range(3):
        meter_event({"execution_id": f"old{n}", "team_id": owner.team_id, "mode": "webhook"})
    meter_event({"execution_id": "new", "team_id": owner.team_id, "mode": "webhook"})
    with session_scope() as session:
        session.execute(update(UsageRecord).where(UsageRecord.execution_id.like("old%"))
                        .values(counted_at=utcnow() - timedelta(days=401)))
        session.add(BillingEvent(id="evt_old", type="invoice.paid", created=1, outcome="applied",
                                 received_at=utcnow() - timedelta(days=401)))
    assert duties.prune_records() == 4
    with session_scope() as session:
        assert list(session.scalars(select(UsageRecord.execution_id))) == ["new"]
        assert session.scalar(select(func.count()).select_from(BillingEvent)) == 0
    assert counted(owner.team_id) == 4


async def test_the_duties_do_nothing_with_billing_off(configure, api_user):
    configure(BILLING_BACKEND="free")
    team = api_user("free@example.com").team_id
    add_execution(team, created_at=utcnow() - timedelta(days=100))
    duties._next.clear()
    await duties.tick()
    assert duties._next == {}
    with session_scope() as session:
        assert session.scalar(select(func.count()).select_from(Execution)) == 1
