"""The Billing tab of /admin: every team's plan and usage, and the plans instance admins edit."""

from __future__ import annotations

import reflex as rx

from ui.api_client import ApiError
from ui.state.auth import api_failed, call_api
from ui.state.billing import day, money

LIMITS = ("executions_limit", "overage_limit", "active_workflows_limit", "members_limit", "history_days")
PRICES = ("price_monthly_cents", "price_yearly_cents")
PRICE_IDS = ("stripe_price_monthly", "stripe_price_yearly", "stripe_price_overage")


def _of(value: int | None, limit: int | None) -> str:
    return f"{value:,} / {'∞' if limit is None else f'{limit:,}'}"


def team_row(t: dict) -> dict:
    usage = t["usage"]
    return {"id": t["team_id"], "name": t["team_name"], "plan": t["plan_name"], "status": t["status"],
            "period": f"{day(t['period_start'])} – {day(t['period_end'])}",
            "executions": _of(usage["executions"]["used"], usage["executions"]["limit"]),
            "workflows": _of(usage["active_workflows"]["used"], usage["active_workflows"]["limit"]),
            "members": _of(usage["members"]["used"], usage["members"]["limit"]),
            "payment": "failed" if t.get("payment_failed_at") else ""}


def plan_row(p: dict) -> dict:
    row = {k: "" if p[k] is None else str(p[k]) for k in (*LIMITS, *PRICES, *PRICE_IDS)}
    return {**row, "id": p["id"], "name": p["name"], "monthly": money(p["price_monthly_cents"]),
            "public": "yes" if p["is_public"] else ""}


def changes(form: dict) -> dict:
    """The PATCH body from the edit form: an empty limit is unlimited, an empty price id none."""
    body: dict = {"name": str(form.get("name", "")).strip()}
    for key in (*LIMITS, *PRICES):
        text = str(form.get(key, "")).strip().replace(",", "")
        if not text and key in PRICES:
            raise ValueError(f"{key.replace('_', ' ')} needs a number (0 for free)")
        if text and not text.isdigit():
            raise ValueError(f"{key.replace('_', ' ')} must be a whole number, or empty for unlimited")
        body[key] = int(text) if text else None
    for key in PRICE_IDS:
        body[key] = str(form.get(key, "")).strip() or None
    return body


class AdminBillingState(rx.State):
    teams: list[dict[str, str]] = []
    teams_total: int = 0
    plans: list[dict[str, str]] = []
    editing: dict[str, str] = {}
    edit_error: str = ""

    async def fetch(self) -> None:
        page = await call_api(self, "GET", "/admin/billing/teams", params={"limit": 200})
        self.teams, self.teams_total = [team_row(t) for t in page["items"]], page["total"]
        self.plans = [plan_row(p) for p in await call_api(self, "GET", "/admin/billing/plans")]

    @rx.event
    def edit(self, plan_id: str):
        self.editing = next((p for p in self.plans if p["id"] == plan_id), {})
        self.edit_error = ""

    @rx.event
    def close(self, _open: bool = False):
        self.editing, self.edit_error = {}, ""

    @rx.event
    async def save(self, form: dict):
        try:
            body = changes(form)
        except ValueError as exc:
            self.edit_error = str(exc)
            return None
        plan_id = self.editing.get("id", "")
        try:
            await call_api(self, "PATCH", f"/admin/billing/plans/{plan_id}", json=body)
            await self.fetch()
        except ApiError as exc:
            self.edit_error = exc.message
            return api_failed(exc) if exc.unauthorized else None
        self.editing = {}
        return rx.toast.success(f"Plan {body['name']} saved; teams on it get the new limits within seconds")
