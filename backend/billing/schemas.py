"""Request and response bodies of /api/v1/billing and /api/v1/admin/billing."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from backend.db.base import MAX_INT

Limit = int | None  # None: unlimited
PriceId = str | None


class PlanOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    name: str
    position: int
    is_public: bool
    price_monthly_cents: int
    price_yearly_cents: int
    executions_limit: Limit
    overage_limit: Limit
    active_workflows_limit: Limit
    members_limit: Limit
    history_days: Limit
    stripe_price_monthly: PriceId = None
    stripe_price_yearly: PriceId = None
    stripe_price_overage: PriceId = None


class PlanPatch(BaseModel):
    """Instance admins change a plan; fields left out stay as they are, null limits are unlimited."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, min_length=1, max_length=100)
    position: int | None = Field(default=None, ge=0, le=1000)
    is_public: bool | None = None
    price_monthly_cents: int | None = Field(default=None, ge=0, le=MAX_INT)
    price_yearly_cents: int | None = Field(default=None, ge=0, le=MAX_INT)
    executions_limit: int | None = Field(default=None, ge=0, le=MAX_INT)
    overage_limit: int | None = Field(default=None, ge=0, le=MAX_INT)
    active_workflows_limit: int | None = Field(default=None, ge=0, le=MAX_INT)
    members_limit: int | None = Field(default=None, ge=1, le=MAX_INT)
    history_days: int | None = Field(default=None, ge=1, le=36500)
    stripe_price_monthly: str | None = Field(default=None, max_length=100)
    stripe_price_yearly: str | None = Field(default=None, max_length=100)
    stripe_price_overage: str | None = Field(default=None, max_length=100)


class Meter(BaseModel):
    used: int
    limit: Limit  # included in the plan
    cap: Limit = None  # executions only: included + billable overage


class UsageOut(BaseModel):
    executions: Meter
    active_workflows: Meter
    members: Meter


class PaymentProblem(BaseModel):
    since: datetime
    grace_until: datetime | None  # the team moves to Free after this


class BillingOut(BaseModel):
    backend: Literal["free", "stripe"]
    plan: PlanOut | None  # None with the free backend: no plans, no limits
    status: str
    interval: str
    period_start: datetime | None
    period_end: datetime | None
    cancel_at_period_end: bool = False
    usage: UsageOut
    payment_failed: PaymentProblem | None = None
    can_manage: bool  # owners change billing; admins only see it
    has_customer: bool = False  # Manage billing (the portal) needs a Stripe customer


class CheckoutIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    plan_id: str = Field(min_length=1, max_length=32)
    interval: Literal["month", "year"] = "month"


class RedirectOut(BaseModel):
    url: str  # open it in the browser: Stripe's hosted page
    id: str | None = None


class InvoiceOut(BaseModel):
    id: str
    number: str | None
    status: str | None
    amount_due: int
    amount_paid: int
    currency: str
    created: datetime
    hosted_invoice_url: str | None
    invoice_pdf: str | None


class StripeEventOut(BaseModel):
    received: bool = True
    outcome: str  # applied | stale | ignored | duplicate


class AdminTeamBillingOut(BaseModel):
    team_id: str
    team_name: str
    plan_id: str
    plan_name: str
    status: str
    period_start: datetime
    period_end: datetime
    usage: UsageOut
    payment_failed_at: datetime | None
    stripe_customer_id: str | None


class AdminTeamBillingPage(BaseModel):
    items: list[AdminTeamBillingOut]
    total: int
