"""/settings/billing: plan and period, usage bars, plan cards, Manage billing, invoices."""

import reflex as rx

from ui.components.sections import loading_or, section
from ui.components.shell import empty_state, shell
from ui.components.ticker import ticker
from ui.state.auth import AuthState
from ui.state.billing import LIVE_SECONDS, BillingState

GRAY = rx.color("gray", 11)


def _banner() -> rx.Component:
    return rx.cond(BillingState.payment_failed != "", rx.callout.root(
        rx.callout.icon(rx.icon("credit-card")), rx.callout.text(BillingState.payment_failed),
        color_scheme="red", role="alert", width="100%", data_testid="payment-failed-banner"))


def _current() -> rx.Component:
    manage = rx.cond(BillingState.can_manage & BillingState.has_customer,
                     rx.button(rx.icon("settings", size=14), "Manage billing", variant="soft",
                               on_click=BillingState.manage))
    status = rx.badge(BillingState.status, color_scheme=rx.cond(BillingState.status == "past_due", "red", "green"))
    return section("Current plan", "What the team is on, and the billing period usage counts in.", rx.hstack(
        rx.vstack(rx.heading(BillingState.plan_name, size="6", data_testid="current-plan"),
                  rx.hstack(status, rx.text(rx.cond(BillingState.status == "free", "Counted per calendar month",
                                                    "Billed " + BillingState.interval + "ly"),
                                            " · period ", BillingState.period, size="2", color=GRAY),
                            spacing="2", align="center"),
                  rx.cond(BillingState.cancel_at_period_end,
                          rx.text("Cancelled: ends with this period, then Free.", size="2", color=rx.color("amber", 11))),
                  spacing="2"),
        rx.spacer(), manage, width="100%", align="center"))


def _meter(m) -> rx.Component:
    return rx.vstack(
        rx.hstack(rx.text(m["label"], size="2", weight="medium"), rx.spacer(),
                  rx.text(m["text"], size="2", color=GRAY, data_testid=f"usage-{m['key']}"), width="100%"),
        rx.progress(value=m["percent"].to(int), color_scheme=m["color"].to(str), width="100%",
                    aria_label=m["label"]),
        spacing="1", width="100%",
    )


def _usage() -> rx.Component:
    return section("Usage", "Live: updates every few seconds while this page is open.",
                   rx.vstack(rx.foreach(BillingState.meters, _meter), spacing="4", width="100%"))


def _card(plan) -> rx.Component:
    action = rx.cond(
        plan["current"], rx.badge("Current plan", color_scheme="green", size="2"),
        rx.cond(BillingState.can_manage & ~plan["free"].to(bool),
                rx.button("Upgrade", on_click=BillingState.upgrade(plan["id"]), width="100%",
                          loading=BillingState.redirecting == plan["id"], aria_label=f"Upgrade to {plan['name']}")))
    price = rx.cond(BillingState.choose_interval == "year", plan["yearly"], plan["monthly"])
    return rx.card(rx.vstack(
        rx.heading(plan["name"], size="4", as_="h3"), rx.text(price, size="3", weight="medium"),
        rx.vstack(rx.foreach(plan["limits"].to(list[str]), lambda line: rx.hstack(
            rx.icon("check", size=14, color=rx.color("green", 10)), rx.text(line, size="2"), align="center")),
            spacing="1"),
        rx.spacer(), action, spacing="3", height="100%"),
        min_width="220px", flex="1", data_testid=f"plan-card-{plan['id']}")


def _plans() -> rx.Component:
    interval = rx.segmented_control.root(
        rx.segmented_control.item("Monthly", value="month"), rx.segmented_control.item("Yearly", value="year"),
        value=BillingState.choose_interval, on_change=BillingState.set_choose_interval, aria_label="Billing interval")
    hint = rx.cond(BillingState.can_manage, "Upgrade opens Stripe's secure checkout; the plan changes once Stripe "
                   "confirms the payment.", "Only the team's owners change the plan.")
    return section("Plans", hint, interval, rx.hstack(rx.foreach(BillingState.cards, _card), spacing="3",
                                                      width="100%", wrap="wrap", align="stretch"))


def _invoices() -> rx.Component:
    row = lambda i: rx.table.row(  # noqa: E731
        rx.table.cell(rx.text(i["date"], size="2")), rx.table.cell(rx.text(i["number"], size="2")),
        rx.table.cell(rx.text(i["amount"], size="2")), rx.table.cell(rx.badge(i["status"], variant="soft")),
        rx.table.cell(rx.cond(i["url"] != "", rx.link("View", href=i["url"], is_external=True, size="2"))),
        data_testid="invoice-row")
    table = rx.table.root(rx.table.header(rx.table.row(*(rx.table.column_header_cell(h) for h in (
        "Date", "Invoice", "Amount", "Status", "")))), rx.table.body(rx.foreach(BillingState.invoices, row)),
        variant="surface", width="100%")
    return section("Invoices", "From Stripe.", rx.cond(BillingState.invoices.length() > 0, table,
                                                       rx.text("No invoices yet.", size="2", color=GRAY)))


def _billing() -> rx.Component:
    return rx.vstack(_banner(), _current(), _usage(), _plans(), _invoices(),
                     ticker(seconds=LIVE_SECONDS, on_tick=BillingState.refresh_usage), spacing="4", width="100%")


def page() -> rx.Component:
    forbidden = rx.box(empty_state("lock", "Billing is for the team's owners and admins",
                                   "Ask an owner of the team about its plan."), data_testid="billing-forbidden")
    self_hosted = rx.callout("This LinkFlow is self-hosted: no plans, no limits, nothing to pay.", icon="infinity",
                             color_scheme="gray", width="100%", data_testid="billing-off")
    content = rx.cond(BillingState.forbidden, forbidden,
                      rx.cond(BillingState.backend == "free", self_hosted, _billing()))
    return shell("Billing", loading_or(BillingState.loaded, BillingState.error, BillingState.load, content))


def register(app: rx.App) -> None:
    app.add_page(page, route="/settings/billing", title="Billing · LinkFlow",
                 on_load=[AuthState.require_session, BillingState.load])
