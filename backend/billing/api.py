"""/api/v1/billing (a team's plan, usage, Checkout, portal, invoices), /api/v1/admin/billing (every
team, plan edits) and Stripe's webhook at /stripe/webhook.

Owners change billing; admins see it; editors and viewers get 403. Every call acts on the team of
the request (``X-Team-Id``): no body names a team, so nobody can start a checkout for another.
"""

from __future__ import annotations

import asyncio
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request

from backend.admin.api import Admin
from backend.auth.deps import Principal, require_role
from backend.billing import plans, service, stripe_events
from backend.billing.schemas import (
    AdminTeamBillingPage,
    BillingOut,
    CheckoutIn,
    InvoiceOut,
    PlanOut,
    PlanPatch,
    RedirectOut,
    StripeEventOut,
)
from backend.db.deps import CommittingRoute, DbSession
from backend.users.models import Role
from backend.webhooks.intake import read_body

router = APIRouter(route_class=CommittingRoute, prefix="/billing", tags=["billing"])
admin_router = APIRouter(route_class=CommittingRoute, prefix="/admin/billing", tags=["admin"])
stripe_router = APIRouter(route_class=CommittingRoute, tags=["billing"])

MAX_EVENT_BYTES = 1024 * 1024  # Stripe's events are far smaller; more is refused (413) unread
Owner = Annotated[Principal, Depends(require_role(Role.OWNER))]
TeamAdmin = Annotated[Principal, Depends(require_role(Role.ADMIN))]


@router.get("", response_model=BillingOut)
def billing_summary(who: TeamAdmin, session: DbSession) -> BillingOut:
    """The team's plan, period, usage against the limits and payment state (owners and admins)."""
    return service.summary(session, who.team_id, can_manage=who.role == Role.OWNER)


@router.get("/plans", response_model=list[PlanOut])
def list_plans(who: TeamAdmin, session: DbSession) -> list[PlanOut]:
    """The plans a team can choose, cheapest first."""
    service.require_enabled()
    return [PlanOut.model_validate(p) for p in plans.list_plans(session, public_only=True)]


@router.post("/checkout", response_model=RedirectOut)
def checkout(body: CheckoutIn, who: Owner, session: DbSession) -> RedirectOut:
    """Upgrade: a Stripe Checkout Session for the plan; send the browser to `url`. The plan changes once
    Stripe's signed `checkout.session.completed` arrives at /stripe/webhook (owners)."""
    url, session_id = service.start_checkout(session, who.team_id, body.plan_id, body.interval)
    return RedirectOut(url=url, id=session_id)


@router.post("/portal", response_model=RedirectOut)
def portal(who: Owner, session: DbSession) -> RedirectOut:
    """Manage billing: Stripe's customer portal (change plan or payment method, cancel) (owners)."""
    return RedirectOut(url=service.portal_url(session, who.team_id))


@router.get("/invoices", response_model=list[InvoiceOut])
def list_invoices(who: TeamAdmin, session: DbSession) -> list[InvoiceOut]:
    """The team's invoices, newest first, from Stripe (owners and admins)."""
    return service.invoices(session, who.team_id)


@admin_router.get("/teams", response_model=AdminTeamBillingPage)
def teams(admin: Admin, session: DbSession, search: Annotated[str, Query(max_length=200)] = "",
          limit: Annotated[int, Query(ge=1, le=service.MAX_PAGE)] = 50,
          offset: Annotated[int, Query(ge=0, le=2**31 - 1)] = 0) -> AdminTeamBillingPage:
    """Every team's plan, status, period and usage (instance admins)."""
    items, total = service.teams_overview(session, search=search, limit=limit, offset=offset)
    return AdminTeamBillingPage(items=items, total=total)


@admin_router.get("/plans", response_model=list[PlanOut])
def all_plans(admin: Admin, session: DbSession) -> list[PlanOut]:
    """Every plan, offered or not, with its Stripe price ids (instance admins)."""
    return [PlanOut.model_validate(p) for p in plans.list_plans(session)]


@admin_router.patch("/plans/{plan_id}", response_model=PlanOut)
def edit_plan(plan_id: str, body: PlanPatch, admin: Admin, session: DbSession) -> PlanOut:
    """Change a plan's name, prices, limits (null: unlimited) or Stripe price ids; audited as
    admin.plan_update. Teams on it get the new limits within LINKFLOW_BILLING_CACHE_SECONDS."""
    return service.edit_plan(session, plan_id, body.model_dump(exclude_unset=True), admin_id=admin.id)


@stripe_router.post("/stripe/webhook", response_model=StripeEventOut)
async def stripe_webhook(request: Request) -> StripeEventOut:
    """Stripe's events, signed with the endpoint secret (LINKFLOW_BILLING_STRIPE_WEBHOOK_SECRET). A
    missing, wrong or expired signature is a 400 that changes nothing; an event already handled
    answers `duplicate` and changes nothing."""
    service.require_enabled()
    body = await read_body(request, MAX_EVENT_BYTES)
    outcome = await asyncio.to_thread(stripe_events.handle, body, request.headers.get("stripe-signature"))
    return StripeEventOut(outcome=outcome.status)
