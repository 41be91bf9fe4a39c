"""Billing against stripe-mock (Stripe's own API mock, started by `deploy/local/infra.sh up stripe`):
Checkout, the portal, invoices, overage meter events and their retries, the grace period's end,
and reconciliation. stripe-mock keeps no state, so state changes arrive as events signed with the
endpoint secret exactly as Stripe signs them. Stripe is not mocked any other way: a recording proxy
(stripe_proxy.py) only passes requests through and writes down what it saw."""

from __future__ import annotations

import json
import time
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select, update

from backend.auth.tokens import issue_access_token
from backend.billing import duties
from backend.billing.metering import meter_event
from backend.billing.models import MeterReport, Usage, UsageRecord
from backend.billing.reporting import report_overage
from backend.cli import main as linkflow
from backend.db import migrate
from backend.db.base import utcnow
from backend.db.session import session_scope
from backend.executions import dispatch
from backend.settings import get_settings
from backend.users.service import create_user
from tests.unit.backend.billing.billing_testkit import (
    STRIPE_SETTINGS,
    checkout_completed,
    deliver,
    event,
    invoice,
    link_customer,
    manual_flow,
    set_plan,
    subscription_of,
    webhook_flow,
)

pytestmark = pytest.mark.integration
PRO_PRICES = {"stripe_price_monthly": "price_pro_m", "stripe_price_yearly": "price_pro_y",
              "stripe_price_overage": "price_pro_overage"}


class Person:
    def __init__(self, email: str, *, admin: bool = False) -> None:
        with session_scope() as session:
            user, team = create_user(session, email=email, password="a long enough password", is_admin=admin)
            self.user_id, self.team_id = user.id, team.id
        token, _ = issue_access_token(self.user_id)
        self.headers = {"Authorization": f"Bearer {token}", "X-Team-Id": self.team_id}


@pytest.fixture
def api(configure, stripe_proxy):
    configure(**STRIPE_SETTINGS, BILLING_STRIPE_API_BASE=stripe_proxy.url, BILLING_WEBHOOK_GRACE_PERCENT="0")
    migrate.upgrade(get_settings().database_url)
    held: list[str] = []
    previous = dispatch._dispatcher
    dispatch.register(held.append)  # runs stay queued: these tests count executions, not run them
    with TestClient(create_app()) as client:
        yield client
    dispatch._dispatcher = previous


def create_app():
    from backend.app import create_app as make

    return make()


def test_an_owner_upgrades_through_checkout_and_the_signed_completion(api, stripe_proxy):
    staff, owner = Person("staff@example.com", admin=True), Person("owner@example.com")
    prices = api.patch("/api/v1/admin/billing/plans/pro", json=PRO_PRICES, headers=staff.headers)
    assert prices.status_code == 200, prices.text
    first = api.post("/api/v1/billing/checkout", json={"plan_id": "pro"}, headers=owner.headers)
    assert first.status_code == 200, first.text
    assert first.json()["url"].startswith("https://checkout.stripe.com/")
    [customer_call] = stripe_proxy.requests("/v1/customers")
    assert customer_call.idempotency_key == f"linkflow-customer-{owner.team_id}"
    assert customer_call.form["metadata[team_id]"] == owner.team_id
    [session_call] = stripe_proxy.requests("/v1/checkout/sessions")
    assert session_call.form["client_reference_id"] == owner.team_id
    assert (session_call.form["line_items[0][price]"], session_call.form["line_items[1][price]"]) == (
        "price_pro_m", "price_pro_overage")
    assert session_call.form["metadata[plan_id]"] == "pro" and session_call.form["mode"] == "subscription"
    assert session_call.form["success_url"].endswith("/settings/billing?checkout=success")
    yearly = api.post("/api/v1/billing/checkout", json={"plan_id": "pro", "interval": "year"}, headers=owner.headers)
    assert yearly.status_code == 200
    assert len(stripe_proxy.requests("/v1/customers")) == 1, "one Stripe customer per team"
    assert stripe_proxy.requests("/v1/checkout/sessions")[-1].form["line_items[0][price]"] == "price_pro_y"

    customer = subscription_of(owner.team_id).stripe_customer_id
    assert customer.startswith("cus_")
    done = deliver(api, event("checkout.session.completed", checkout_completed(owner.team_id, customer)))
    assert done.json()["outcome"] == "applied"
    summary = api.get("/api/v1/billing", headers=owner.headers).json()
    assert summary["plan"]["id"] == "pro" and summary["usage"]["executions"]["limit"] == 10_000
    assert summary["usage"]["executions"]["cap"] == 50_000, "included + billable overage"
    again = api.post("/api/v1/billing/checkout", json={"plan_id": "pro"}, headers=owner.headers)
    assert again.status_code == 409 and "already on the Pro plan" in again.json()["error"]["message"]

    portal = api.post("/api/v1/billing/portal", headers=owner.headers)
    assert portal.status_code == 200 and stripe_proxy.requests("/v1/billing_portal/sessions")[0].form[
        "customer"] == customer
    invoices = api.get("/api/v1/billing/invoices", headers=owner.headers)
    assert invoices.status_code == 200 and invoices.json()[0]["id"].startswith("in_")
    assert stripe_proxy.requests("/v1/invoices", "GET")


def test_checkout_refuses_plans_without_a_price_and_another_teams_checkout_never_reaches_stripe(api, stripe_proxy):
    owner, attacker = Person("owner@example.com"), Person("attacker@example.com")
    no_price = api.post("/api/v1/billing/checkout", json={"plan_id": "business"}, headers=owner.headers)
    assert no_price.status_code == 409 and "Admin → Billing" in no_price.json()["error"]["message"]
    set_plan("pro", **PRO_PRICES)
    foreign = {**attacker.headers, "X-Team-Id": owner.team_id}
    assert api.post("/api/v1/billing/checkout", json={"plan_id": "pro"}, headers=foreign).status_code == 403
    assert api.post("/api/v1/billing/portal", headers=foreign).status_code == 403
    assert stripe_proxy.seen == [], "nothing reached Stripe"
    assert subscription_of(owner.team_id) is None


def pro_team_with_overage(api, included: int) -> Person:
    owner = Person("owner@example.com")
    set_plan("pro", executions_limit=included, **PRO_PRICES)
    link_customer(owner.team_id, "cus_overage")
    assert deliver(api, event("checkout.session.completed", checkout_completed(owner.team_id, "cus_overage"))
                   ).json()["outcome"] == "applied"
    return owner


def test_overage_goes_to_stripe_once_even_when_stripe_fails_and_the_call_is_retried(api, stripe_proxy):
    owner = pro_team_with_overage(api, included=3)
    for n in range(7):
        meter_event({"execution_id": f"run{n}", "team_id": owner.team_id, "mode": "webhook"})
        meter_event({"execution_id": f"run{n}", "team_id": owner.team_id, "mode": "webhook"})  # redelivered
    stripe_proxy.fail_next("/v1/billing/meter_events", 500)
    assert report_overage().sent == 1
    calls = stripe_proxy.requests("/v1/billing/meter_events")
    assert len(calls) == 2, "the client retried after the 500"
    assert calls[0].idempotency_key == calls[1].idempotency_key == calls[0].form["identifier"]
    assert calls[1].form["payload[value]"] == "4" and calls[1].form["payload[stripe_customer_id]"] == "cus_overage"
    assert calls[1].form["event_name"] == "linkflow_executions"
    assert report_overage().sent == 0 and len(stripe_proxy.requests("/v1/billing/meter_events")) == 2
    with session_scope() as session:
        assert session.scalar(select(func.count()).select_from(UsageRecord)
                              .where(UsageRecord.overage.is_(True), UsageRecord.report_id.is_not(None))) == 4


def test_a_report_stripe_keeps_refusing_stays_unsent_and_goes_later(api, stripe_proxy):
    owner = pro_team_with_overage(api, included=1)
    for n in range(3):
        meter_event({"execution_id": f"run{n}", "team_id": owner.team_id, "mode": "webhook"})
    stripe_proxy.fail_next("/v1/billing/meter_events", 503, 503, 503)
    run = report_overage()
    assert (run.batched, run.sent, run.failed) == (1, 0, 1)
    with session_scope() as session:
        report = session.scalar(select(MeterReport))
        assert report.sent_at is None and report.attempts == 1 and "Stripe failed" in report.last_error
    assert report_overage().sent == 1
    keys = {c.idempotency_key for c in stripe_proxy.requests("/v1/billing/meter_events")}
    assert keys == {report.id}, "every attempt of the report carried its one key"


def test_an_unpaid_team_moves_to_free_when_the_grace_period_ends(api, stripe_proxy):
    owner = pro_team_with_overage(api, included=100)
    set_plan(active_workflows_limit=1)
    for n in range(3):
        created = api.post("/api/v1/workflows", json={"name": f"W{n}", "definition": webhook_flow(f"unpaid-{n}")},
                           headers=owner.headers).json()["id"]
        assert api.post(f"/api/v1/workflows/{created}/activate", headers=owner.headers).status_code == 200
    assert deliver(api, event("invoice.payment_failed", invoice("cus_overage"), created=int(time.time()) + 1)
                   ).json()["outcome"] == "applied"
    banner = api.get("/api/v1/billing", headers=owner.headers).json()["payment_failed"]
    assert banner["grace_until"]
    assert duties.expire_payment_grace(utcnow() + timedelta(days=6)) == [], "still in the grace period"
    assert duties.expire_payment_grace(utcnow() + timedelta(days=8)) == [owner.team_id]
    assert [c.path for c in stripe_proxy.requests("/v1/subscriptions", "DELETE")] == ["/v1/subscriptions/sub_test_1"]
    after = api.get("/api/v1/billing", headers=owner.headers).json()
    assert after["plan"]["id"] == "free" and after["payment_failed"] is None
    listed = api.get("/api/v1/workflows", headers=owner.headers).json()["items"]
    assert len(listed) == 3 and sum(w["active"] for w in listed) == 1, "deactivated, not deleted"
    assert duties.expire_payment_grace(utcnow() + timedelta(days=9)) == []


def test_reconcile_finds_and_repairs_what_metering_missed(api, stripe_proxy, capsys):
    owner = Person("owner@example.com")
    workflow_id = api.post("/api/v1/workflows", json={"name": "W", "definition": manual_flow()},
                           headers=owner.headers).json()["id"]
    runs = [api.post(f"/api/v1/workflows/{workflow_id}/run", json={}, headers=owner.headers).json()["execution_id"]
            for _ in range(5)]
    for execution_id in runs[:3]:  # two executions' events were lost (e.g. dead-lettered)
        meter_event({"execution_id": execution_id, "team_id": owner.team_id, "mode": "manual"})
    with session_scope() as session:
        session.execute(update(Usage).values(quantity=9))  # and the counter went wrong
    assert linkflow(["billing", "reconcile", "--dry-run"]) == 1
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    mine = next(line for line in lines if line.get("team_id") == owner.team_id)
    assert (mine["executions"], mine["unmetered"], mine["counter"], mine["metered"]) == (5, 2, 9, 3)
    assert linkflow(["billing", "reconcile"]) == 0
    capsys.readouterr()
    assert linkflow(["billing", "reconcile", "--dry-run", "--team", owner.team_id]) == 0
    [clean, total] = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert (clean["unmetered"], clean["counter"], clean["metered"]) == (0, 5, 5) and total["with_differences"] == 0


def test_reconcile_sends_stripe_what_its_meter_is_missing_once(configure, api, stripe_proxy, capsys):
    # stripe-mock's fixture meter is named "test-meter-event-name" and sums 25 for any customer and range.
    configure(BILLING_STRIPE_METER_EVENT="test-meter-event-name")
    owner = pro_team_with_overage(api, included=1)
    for n in range(31):
        meter_event({"execution_id": f"run{n}", "team_id": owner.team_id, "mode": "webhook"})
    assert report_overage().sent == 1  # 30 overage executions
    assert linkflow(["billing", "reconcile", "--team", owner.team_id]) == 0
    assert linkflow(["billing", "reconcile", "--team", owner.team_id]) == 0
    corrections = [c for c in stripe_proxy.requests("/v1/billing/meter_events")
                   if c.form["identifier"].startswith("reconcile-")]
    assert [c.form["payload[value]"] for c in corrections] == ["5", "5"]
    assert len({(c.form["identifier"], c.idempotency_key) for c in corrections}) == 1, "the same event: billed once"
    report = json.loads(capsys.readouterr().out.splitlines()[0])
    assert (report["reported"], report["stripe"]) == (30, 25)


def test_billing_commands_refuse_to_run_with_billing_off(configure, capsys):
    configure(BILLING_BACKEND="free")
    assert linkflow(["billing", "report"]) == 2
    assert linkflow(["billing", "reconcile"]) == 2
    assert capsys.readouterr().err.count("billing is off") == 2
