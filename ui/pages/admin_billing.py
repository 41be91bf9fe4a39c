"""The Billing tab of /admin: every team's plan and usage; instance admins edit plans."""

import reflex as rx

from ui.components.sections import form_error
from ui.state.admin_billing import LIMITS, PRICE_IDS, PRICES, AdminBillingState

GRAY = rx.color("gray", 11)
LABELS = {"executions_limit": "Executions per period", "overage_limit": "Overage executions (billed)",
          "active_workflows_limit": "Active workflows", "members_limit": "Members", "history_days": "History (days)",
          "price_monthly_cents": "Monthly price (cents)", "price_yearly_cents": "Yearly price (cents)",
          "stripe_price_monthly": "Stripe price id, monthly", "stripe_price_yearly": "Stripe price id, yearly",
          "stripe_price_overage": "Stripe metered price id (overage)"}


def _table(headers: list[str], body: rx.Component, testid: str) -> rx.Component:
    return rx.table.root(rx.table.header(rx.table.row(*(rx.table.column_header_cell(h) for h in headers))),
                         rx.table.body(body), variant="surface", width="100%", data_testid=testid)


def _team_row(t) -> rx.Component:
    return rx.table.row(
        rx.table.cell(rx.text(t["name"], size="2", weight="medium")),
        rx.table.cell(rx.hstack(rx.badge(t["plan"]), rx.cond(t["payment"] != "", rx.badge("payment failed",
                                                                                         color_scheme="red")))),
        rx.table.cell(rx.text(t["status"], size="2", color=GRAY)), rx.table.cell(rx.text(t["period"], size="2")),
        rx.table.cell(rx.text(t["executions"], size="2")), rx.table.cell(rx.text(t["workflows"], size="2")),
        rx.table.cell(rx.text(t["members"], size="2")), align="center", data_testid="admin-billing-team-row")


def _plan_row(p) -> rx.Component:
    return rx.table.row(
        rx.table.cell(rx.text(p["name"], weight="medium", size="2")), rx.table.cell(rx.text(p["monthly"], size="2")),
        *(rx.table.cell(rx.text(rx.cond(p[k] == "", "∞", p[k]), size="2")) for k in LIMITS),
        rx.table.cell(rx.code(rx.cond(p["stripe_price_monthly"] == "", "—", p["stripe_price_monthly"]))),
        rx.table.cell(rx.button("Edit", size="1", variant="soft", on_click=AdminBillingState.edit(p["id"]),
                                aria_label=f"Edit plan {p['name']}"), text_align="right"),
        align="center", data_testid="admin-plan-row")


def _field(key: str) -> rx.Component:
    return rx.vstack(rx.text(LABELS[key], size="1", weight="medium"),
                     rx.input(name=key, default_value=AdminBillingState.editing[key], aria_label=LABELS[key],
                              width="100%"), spacing="1", width="100%")


def _edit_dialog() -> rx.Component:
    form = rx.form(rx.vstack(
        rx.vstack(rx.text("Name", size="1", weight="medium"),
                  rx.input(name="name", default_value=AdminBillingState.editing["name"], aria_label="Plan name"),
                  spacing="1", width="100%"),
        rx.grid(*(_field(k) for k in (*LIMITS, *PRICES, *PRICE_IDS)), columns="2", spacing="3", width="100%"),
        rx.text("Empty limits are unlimited.", size="1", color=GRAY),
        form_error(AdminBillingState.edit_error),
        rx.hstack(rx.dialog.close(rx.button("Cancel", variant="soft", color_scheme="gray", type="button")),
                  rx.button("Save plan", type="submit"), justify="end", width="100%"),
        spacing="3"), on_submit=AdminBillingState.save, reset_on_submit=False)
    return rx.dialog.root(rx.dialog.content(rx.dialog.title("Edit plan ", AdminBillingState.editing["name"]), form,
                                            max_width="640px"),
                          open=AdminBillingState.editing.length() > 0, on_open_change=AdminBillingState.close)


def billing_tab(loading) -> rx.Component:
    return loading("billing", rx.vstack(
        rx.hstack(rx.heading("Teams", size="4", as_="h2"), rx.spacer(),
                  rx.text(AdminBillingState.teams_total, " teams", size="2", color=GRAY), width="100%"),
        _table(["Team", "Plan", "Status", "Period", "Executions", "Active workflows", "Members"],
               rx.foreach(AdminBillingState.teams, _team_row), "admin-billing-teams"),
        rx.heading("Plans", size="4", as_="h2"),
        _table(["Plan", "Monthly", "Executions", "Overage", "Active workflows", "Members", "History days",
                "Stripe price", ""], rx.foreach(AdminBillingState.plans, _plan_row), "admin-plans"),
        _edit_dialog(), width="100%", spacing="3"))
