"""What a team's billing page and the admin console ask of billing: the summary, Checkout, the
portal, invoices, every team's plan and usage, and plan edits."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from backend.auth import audit
from backend.billing import plans as plan_store
from backend.billing import stripe_api
from backend.billing.gate import EXECUTIONS, execution_gate
from backend.billing.models import FREE_PLAN, Subscription, Usage
from backend.billing.plans import TeamPlan, enabled, subscription_row, team_plan
from backend.billing.schemas import (
    AdminTeamBillingOut,
    BillingOut,
    InvoiceOut,
    Meter,
    PaymentProblem,
    PlanOut,
    UsageOut,
)
from backend.errors import Conflict, NotFound, UserError
from backend.settings import get_settings
from backend.users.models import Membership, Team
from backend.workflows.models import Workflow

REQUIRED = ("name", "position", "is_public", "price_monthly_cents", "price_yearly_cents")
MAX_PAGE = 200


class BillingDisabled(NotFound):
    code = "billing_disabled"

    def __init__(self) -> None:
        super().__init__("billing is off on this LinkFlow (LINKFLOW_BILLING_BACKEND=free): no plans, no limits")


def require_enabled() -> None:
    if not enabled():
        raise BillingDisabled()


def usage(session: Session, plan: TeamPlan) -> UsageOut:
    executions = session.scalar(select(Usage.quantity).where(
        Usage.team_id == plan.team_id, Usage.period == plan.period.key, Usage.metric == EXECUTIONS)) or 0
    active = session.scalar(select(func.count()).select_from(Workflow).where(
        Workflow.team_id == plan.team_id, Workflow.active.is_(True))) or 0
    members = session.scalar(select(func.count()).select_from(Membership)
                             .where(Membership.team_id == plan.team_id)) or 0
    limits = plan.limits
    return UsageOut(executions=Meter(used=executions, limit=limits.executions, cap=plan.executions_cap),
                    active_workflows=Meter(used=active, limit=limits.active_workflows),
                    members=Meter(used=members, limit=limits.members))


def summary(session: Session, team_id: str, *, can_manage: bool) -> BillingOut:
    plan = team_plan(session, team_id)
    if plan is None:
        raise NotFound(f"team {team_id} not found")
    if not enabled():
        unlimited = Meter(used=0, limit=None)
        counted = usage(session, plan)
        return BillingOut(backend="free", plan=None, status="free", interval="month", period_start=None,
                          period_end=None, can_manage=False,
                          usage=UsageOut(executions=unlimited, active_workflows=Meter(
                              used=counted.active_workflows.used, limit=None),
                              members=Meter(used=counted.members.used, limit=None)))
    problem = PaymentProblem(since=plan.payment_failed_at, grace_until=plan.grace_until) \
        if plan.payment_failed_at else None
    return BillingOut(backend="stripe", plan=PlanOut.model_validate(plan_store.get_plan(session, plan.plan_id)),
                      status=plan.status, interval=plan.interval, period_start=plan.period.start,
                      period_end=plan.period.end, cancel_at_period_end=plan.cancel_at_period_end,
                      usage=usage(session, plan), payment_failed=problem, can_manage=can_manage,
                      has_customer=plan.customer_id is not None)


def start_checkout(session: Session, team_id: str, plan_id: str, interval: str) -> tuple[str, str]:
    """A Stripe Checkout Session for ``plan_id``; (url, id). The plan changes when Stripe's signed
    ``checkout.session.completed`` arrives, never because this was called."""
    require_enabled()
    plan = plan_store.get_plan(session, plan_id)
    current = team_plan(session, team_id)
    if plan.id == FREE_PLAN:
        raise UserError("Free needs no checkout; to leave a paid plan, cancel it in Manage billing")
    if current.plan_id == plan.id and current.status in plan_store.PAYING:
        raise Conflict(f"team \"{current.team_name}\" is already on the {plan.name} plan; change the billing "
                       "interval or cancel in Manage billing")
    price = plan.stripe_price_monthly if interval == "month" else plan.stripe_price_yearly
    if not price:
        raise Conflict(f"the {plan.name} plan has no Stripe price for {interval}ly billing yet; an instance admin "
                       f"sets it in Admin → Billing (stripe_price_{'monthly' if interval == 'month' else 'yearly'})")
    sub = subscription_row(session, team_id)
    if sub.stripe_customer_id is None:
        sub.stripe_customer_id = stripe_api.create_customer(team_id, current.team_name)
    base = f"{get_settings().public_url}/settings/billing"
    key = f"linkflow-checkout-{team_id}-{plan.id}-{interval}-{int(datetime.now(UTC).timestamp()) // 60}"
    session_id, url = stripe_api.create_checkout(
        team_id=team_id, customer_id=sub.stripe_customer_id, plan_id=plan.id, interval=interval, price=price,
        overage_price=plan.stripe_price_overage, success_url=f"{base}?checkout=success",
        cancel_url=f"{base}?checkout=cancelled", idempotency_key=key)
    return url, session_id


def portal_url(session: Session, team_id: str) -> str:
    require_enabled()
    customer = session.scalar(select(Subscription.stripe_customer_id).where(Subscription.team_id == team_id))
    if not customer:
        raise Conflict("this team has no Stripe customer yet: upgrade once through a plan's Upgrade button")
    return stripe_api.create_portal(customer, f"{get_settings().public_url}/settings/billing")


def invoices(session: Session, team_id: str) -> list[InvoiceOut]:
    require_enabled()
    customer = session.scalar(select(Subscription.stripe_customer_id).where(Subscription.team_id == team_id))
    if not customer:
        return []
    return [InvoiceOut(id=i["id"], number=i.get("number"), status=i.get("status"),
                       amount_due=int(i.get("amount_due") or 0), amount_paid=int(i.get("amount_paid") or 0),
                       currency=str(i.get("currency") or "usd"), created=datetime.fromtimestamp(i["created"], UTC),
                       hosted_invoice_url=i.get("hosted_invoice_url"), invoice_pdf=i.get("invoice_pdf"))
            for i in stripe_api.list_invoices(customer)]


def teams_overview(session: Session, *, search: str = "", limit: int = 50,
                   offset: int = 0) -> tuple[list[AdminTeamBillingOut], int]:
    """Every team's plan and usage, for instance admins."""
    query = select(Team.id)
    if search:
        query = query.where(Team.name.ilike(f"%{search}%") | Team.slug.ilike(f"%{search}%"))
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    items = []
    for team_id in session.scalars(query.order_by(Team.name, Team.id).limit(limit).offset(offset)):
        plan = team_plan(session, team_id)
        items.append(AdminTeamBillingOut(
            team_id=team_id, team_name=plan.team_name, plan_id=plan.plan_id, plan_name=plan.plan_name,
            status=plan.status, period_start=plan.period.start, period_end=plan.period.end,
            usage=usage(session, plan), payment_failed_at=plan.payment_failed_at,
            stripe_customer_id=plan.customer_id))
    return items, total


def edit_plan(session: Session, plan_id: str, changes: dict, *, admin_id: str) -> PlanOut:
    missing = [name for name in REQUIRED if name in changes and changes[name] is None]
    if missing:
        raise UserError(f"{', '.join(missing)} cannot be empty; leave a field out to keep it")
    plan, changed = plan_store.update_plan(session, plan_id, changes)
    if changed:
        audit.record(session, "admin.plan_update", actor_id=admin_id, team_id=None, object_type="plan",
                     object_id=plan.id, details=changed)
        session.flush()
        if (gate := execution_gate()) is not None:
            gate.forget_all()
    return PlanOut.model_validate(plan)
