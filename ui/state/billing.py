"""/settings/billing: the team's plan and period, usage against its limits, plan cards (Upgrade goes to
Stripe Checkout), Manage billing (Stripe's portal), invoices, and a banner while a payment failed.

Everything comes from /api/v1/billing like any other client; owners change billing, admins see it,
everyone else gets the API's 403 and sees no billing data.
"""

from __future__ import annotations

import json
from datetime import datetime

import reflex as rx

from backend.settings import get_settings
from ui.api_client import ApiError
from ui.state.auth import api_failed, call_api
from ui.state.settings import sentence

LIVE_SECONDS = 5  # usage refreshes this often while the page is open (ui/components/ticker.jsx)
METERS = (("executions", "Executions this period"), ("active_workflows", "Active workflows"),
          ("members", "Team members"))


def day(value: str | None) -> str:
    try:
        return datetime.fromisoformat(value).strftime("%b %d, %Y") if value else "—"
    except ValueError:
        return value or "—"


def money(cents: int, currency: str = "usd") -> str:
    return f"${cents / 100:,.2f}" if currency.lower() == "usd" else f"{cents / 100:,.2f} {currency.upper()}"


def limit_text(value: int | None, unit: str) -> str:
    return f"Unlimited {unit}" if value is None else f"{value:,} {unit}"


def meter(key: str, label: str, usage: dict) -> dict:
    used, limit = usage["used"], usage["limit"]
    percent = 0 if not limit else min(100, round(used * 100 / limit))
    over = limit is not None and used >= limit
    text = f"{used:,} of {limit:,}" if limit is not None else f"{used:,} (unlimited)"
    if key == "executions" and usage.get("cap") and usage["cap"] != limit:
        text += f" included (up to {usage['cap']:,} with overage)"
    return {"key": key, "label": label, "text": text, "percent": percent,
            "color": "red" if over else "amber" if percent >= 80 else "green"}


def plan_card(plan: dict, current: str) -> dict:
    return {"id": plan["id"], "name": plan["name"], "current": plan["id"] == current,
            "monthly": money(plan["price_monthly_cents"]) + " / month",
            "yearly": money(plan["price_yearly_cents"]) + " / year",
            "limits": [limit_text(plan["executions_limit"], "executions per period"),
                       limit_text(plan["active_workflows_limit"], "active workflows"),
                       limit_text(plan["members_limit"], "team members"),
                       "History kept " + ("forever" if plan["history_days"] is None else f"{plan['history_days']} days")],
            "free": plan["price_monthly_cents"] == 0}


def invoice_row(i: dict) -> dict:
    return {"id": i["id"], "number": i.get("number") or i["id"], "status": i.get("status") or "—",
            "amount": money(i["amount_due"], i["currency"]), "date": day(i["created"]),
            "url": i.get("hosted_invoice_url") or i.get("invoice_pdf") or ""}


class BillingState(rx.State):
    loaded: bool = False
    error: str = ""
    forbidden: bool = False
    backend: str = ""
    plan_id: str = ""
    plan_name: str = ""
    status: str = ""
    interval: str = "month"
    period: str = ""
    cancel_at_period_end: bool = False
    meters: list[dict] = []
    cards: list[dict] = []
    invoices: list[dict[str, str]] = []
    payment_failed: str = ""  # the banner's text while a payment failed
    can_manage: bool = False
    has_customer: bool = False
    choose_interval: str = "month"
    redirecting: str = ""  # the plan whose Checkout is being opened

    @rx.var
    def enabled(self) -> bool:
        """Billing is on (LINKFLOW_BILLING_BACKEND=stripe): the Billing link and page exist."""
        return get_settings().billing.backend == "stripe"

    @rx.event
    async def load(self):
        self.error, self.forbidden, self.loaded, self.redirecting = "", False, False, ""
        try:
            summary = await call_api(self, "GET", "/billing")
            plans = await call_api(self, "GET", "/billing/plans") if summary["backend"] == "stripe" else []
            invoices = await call_api(self, "GET", "/billing/invoices") if summary.get("has_customer") else []
        except ApiError as exc:
            if exc.status == 403:
                self.forbidden, self.loaded = True, True
                return None
            self.error = sentence(exc.message)
            return api_failed(exc) if exc.unauthorized else None
        self._take(summary)
        self.cards = [plan_card(p, self.plan_id) for p in plans]
        self.invoices = [invoice_row(i) for i in invoices]
        self.loaded = True
        outcome = self.router.url.query_parameters.get("checkout")
        if outcome == "success":
            return rx.toast.success("Thanks! The plan changes as soon as Stripe confirms the payment.")
        if outcome == "cancelled":
            return rx.toast.info("Checkout cancelled; nothing changed.")
        return None

    def _take(self, summary: dict) -> None:
        self.backend = summary["backend"]
        plan = summary.get("plan") or {}
        self.plan_id, self.plan_name = plan.get("id", ""), plan.get("name", "")
        self.status, self.interval = summary["status"], summary["interval"]
        self.period = f"{day(summary.get('period_start'))} – {day(summary.get('period_end'))}"
        self.cancel_at_period_end = bool(summary.get("cancel_at_period_end"))
        self.meters = [meter(key, label, summary["usage"][key]) for key, label in METERS]
        problem = summary.get("payment_failed")
        self.payment_failed = (f"The last payment failed on {day(problem['since'])}. Update the payment method "
                               f"in Manage billing before {day(problem.get('grace_until'))}, or the team moves to "
                               "the Free plan and workflows beyond its limits are deactivated.") if problem else ""
        self.can_manage, self.has_customer = bool(summary["can_manage"]), bool(summary.get("has_customer"))

    @rx.event
    async def refresh_usage(self):
        """The ticker's beat: usage and payment state, live."""
        if self.forbidden or not self.loaded or self.backend != "stripe":
            return None
        try:
            self._take(await call_api(self, "GET", "/billing"))
        except ApiError as exc:
            return api_failed(exc) if exc.unauthorized else None
        return None

    @rx.event
    def set_choose_interval(self, value: str | list[str]):
        value = value if isinstance(value, str) else (value[0] if value else "month")
        self.choose_interval = "year" if value == "year" else "month"

    @rx.event
    async def upgrade(self, plan_id: str):
        self.redirecting = plan_id
        yield
        try:
            checkout = await call_api(self, "POST", "/billing/checkout",
                                      json={"plan_id": plan_id, "interval": self.choose_interval})
        except ApiError as exc:
            self.redirecting = ""
            yield api_failed(exc)
            return
        yield rx.call_script(f"window.location.assign({json.dumps(checkout['url'])})")  # Stripe Checkout

    @rx.event
    async def manage(self):
        try:
            portal = await call_api(self, "POST", "/billing/portal")
        except ApiError as exc:
            return api_failed(exc)
        return rx.call_script(f"window.location.assign({json.dumps(portal['url'])})")
