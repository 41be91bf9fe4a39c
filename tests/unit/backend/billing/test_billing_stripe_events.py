"""Stripe's webhook: only events signed with the endpoint secret, within the tolerance, change
anything; each event counts once; an older state arriving late never overwrites a newer one.

Events are signed here exactly as Stripe signs them (billing_testkit.sign); none of these
handlers calls Stripe's API (those paths run against stripe-mock in tests/integration)."""

from __future__ import annotations

import time

from billing_testkit import (
    checkout_completed,
    deliver,
    event,
    invoice,
    link_customer,
    set_plan,
    sign,
    subscription,
    subscription_of,
    webhook_flow,
)
from sqlalchemy import func, select

from backend.billing.models import BillingEvent
from backend.db.session import session_scope
from backend.events.models import OutboxEvent

PRO_MONTHLY, PRO_YEARLY = "price_pro_monthly", "price_pro_yearly"


def handled_events() -> int:
    with session_scope() as session:
        return session.scalar(select(func.count()).select_from(BillingEvent))


def summary(api, who) -> dict:
    return api.get("/api/v1/billing", headers=who.headers).json()


def upgraded(api, owner, customer="cus_owner") -> None:
    set_plan("pro", stripe_price_monthly=PRO_MONTHLY, stripe_price_yearly=PRO_YEARLY)
    link_customer(owner.team_id, customer)
    response = deliver(api, event("checkout.session.completed", checkout_completed(owner.team_id, customer)))
    assert response.json() == {"received": True, "outcome": "applied"}


def test_a_signed_checkout_completion_moves_the_team_to_the_plan(api, owner):
    assert summary(api, owner)["plan"]["id"] == "free"
    upgraded(api, owner)
    after = summary(api, owner)
    assert after["plan"]["id"] == "pro" and after["status"] == "active"
    assert after["usage"]["active_workflows"]["limit"] == 50 and after["usage"]["executions"]["limit"] == 10_000
    with session_scope() as session:  # the audit consumer writes these to the trail
        audited = [e.payload for e in session.scalars(select(OutboxEvent).where(OutboxEvent.topic == "audit.log"))
                   if e.payload["action"].startswith("billing.")]
    assert [a["action"] for a in audited] == ["billing.checkout.session.completed"]
    assert audited[0]["team_id"] == owner.team_id and audited[0]["details"]["outcome"] == "applied"


def test_unsigned_forged_tampered_and_old_events_are_400_and_change_nothing(api, owner):
    set_plan("pro", stripe_price_monthly=PRO_MONTHLY)
    link_customer(owner.team_id, "cus_owner")
    body = event("checkout.session.completed", checkout_completed(owner.team_id, "cus_owner"))
    attempts = {
        "unsigned": api.post("/stripe/webhook", content=body),
        "another secret": deliver(api, body, secret="whsec_attacker"),
        "tampered": api.post("/stripe/webhook", content=body.replace(b'"pro"', b'"business"'),
                             headers={"Stripe-Signature": sign(body)}),
        "replayed after the tolerance": deliver(api, body, timestamp=int(time.time()) - 301),
        "garbage header": api.post("/stripe/webhook", content=body, headers={"Stripe-Signature": "t=1,v1=00"}),
    }
    for name, response in attempts.items():
        assert response.status_code == 400, name
        assert response.json()["error"]["code"] == "invalid_signature", name
    assert handled_events() == 0
    assert summary(api, owner)["plan"]["id"] == "free"


def test_the_same_event_twice_is_handled_once(api, owner):
    set_plan("pro", stripe_price_monthly=PRO_MONTHLY)
    link_customer(owner.team_id, "cus_owner")
    failed = event("invoice.payment_failed", invoice("cus_owner"))
    upgraded_body = event("checkout.session.completed", checkout_completed(owner.team_id, "cus_owner"),
                          created=int(time.time()) - 10)
    assert deliver(api, upgraded_body).json()["outcome"] == "applied"
    assert deliver(api, failed).json()["outcome"] == "applied"
    first = subscription_of(owner.team_id)
    assert deliver(api, failed).json()["outcome"] == "duplicate"
    assert deliver(api, upgraded_body).json()["outcome"] == "duplicate"
    again = subscription_of(owner.team_id)
    assert (again.payment_failed_at, again.grace_until, again.plan_id) == (first.payment_failed_at, first.grace_until,
                                                                           "pro")
    assert handled_events() == 2


def test_an_older_state_arriving_after_a_newer_one_is_stale(api, owner, create_workflow):
    upgraded(api, owner)
    now = int(time.time())
    cancelled = event("customer.subscription.deleted", subscription("cus_owner", PRO_MONTHLY, "canceled"),
                      created=now + 5)
    late_update = event("customer.subscription.updated", subscription("cus_owner", PRO_YEARLY, "active",
                                                                       interval="year"), created=now + 2)
    assert deliver(api, cancelled).json()["outcome"] == "applied"
    assert summary(api, owner)["plan"]["id"] == "free"
    assert deliver(api, late_update).json()["outcome"] == "stale"
    assert summary(api, owner)["plan"]["id"] == "free", "the late update does not bring Pro back"
    same_second = event("customer.subscription.updated", subscription("cus_owner", PRO_MONTHLY, "active"),
                        created=now + 5)
    assert deliver(api, same_second).json()["outcome"] == "stale", "an ended subscription stays ended on a tie"


def test_subscription_snapshots_in_order_set_plan_interval_and_period(api, owner):
    upgraded(api, owner)
    start = int(time.time()) - 86400
    yearly = event("customer.subscription.updated", subscription("cus_owner", PRO_YEARLY, start=start,
                                                                 interval="year", cancel_at_period_end=True),
                   created=int(time.time()) + 1)
    assert deliver(api, yearly).json()["outcome"] == "applied"
    after = summary(api, owner)
    assert (after["plan"]["id"], after["interval"], after["cancel_at_period_end"]) == ("pro", "year", True)
    assert after["period_start"].startswith(time.strftime("%Y-%m-%d", time.gmtime(start)))


def test_a_checkout_naming_another_teams_customer_is_ignored(api, owner, api_user):
    victim = api_user("victim@example.com")
    link_customer(owner.team_id, "cus_attacker")
    link_customer(victim.team_id, "cus_victim")
    set_plan("business", stripe_price_monthly="price_business")
    body = event("checkout.session.completed", checkout_completed(victim.team_id, "cus_attacker", "business"))
    assert deliver(api, body).json()["outcome"] == "ignored"
    assert subscription_of(victim.team_id).plan_id == "free" == subscription_of(owner.team_id).plan_id
    unknown = event("customer.subscription.updated", subscription("cus_nobody", "price_business"))
    assert deliver(api, unknown).json()["outcome"] == "ignored"


def test_a_failed_payment_starts_the_grace_period_and_a_paid_invoice_ends_it(api, owner):
    upgraded(api, owner)
    now = int(time.time())
    assert deliver(api, event("invoice.payment_failed", invoice("cus_owner"), created=now + 1)).status_code == 200
    problem = summary(api, owner)["payment_failed"]
    assert problem is not None and problem["grace_until"] > problem["since"]
    inbox = api.get("/api/v1/notifications", headers=owner.headers).json()["items"]
    assert [i["subject"].split(": ", 1)[1] for i in inbox] == ["payment failed"]
    assert deliver(api, event("invoice.paid", invoice("cus_owner"), created=now + 2)).json()["outcome"] == "applied"
    assert summary(api, owner)["payment_failed"] is None
    stale_failure = event("invoice.payment_failed", invoice("cus_owner"), created=now)
    assert deliver(api, stale_failure).json()["outcome"] == "stale"
    assert summary(api, owner)["payment_failed"] is None


def test_a_deleted_subscription_moves_the_team_to_free_and_deactivates_workflows_past_its_limit(
        api, owner, create_workflow):
    upgraded(api, owner)
    set_plan(active_workflows_limit=2)
    ids = [create_workflow(owner, webhook_flow(f"keep-{n}"), f"W{n}") for n in range(4)]
    for workflow_id in ids:
        assert api.post(f"/api/v1/workflows/{workflow_id}/activate", headers=owner.headers).status_code == 200
    ended = event("customer.subscription.deleted", subscription("cus_owner", PRO_MONTHLY, "canceled"),
                  created=int(time.time()) + 1)
    assert deliver(api, ended).json()["outcome"] == "applied"
    listed = api.get("/api/v1/workflows", headers=owner.headers).json()["items"]
    assert len(listed) == 4, "nothing is deleted"
    assert sum(w["active"] for w in listed) == 2
    assert summary(api, owner)["plan"]["id"] == "free"
    inbox = api.get("/api/v1/notifications", headers=owner.headers).json()["items"]
    assert any("moved to the Free plan" in i["subject"] for i in inbox)


def test_an_unpaid_checkout_grants_nothing_until_the_subscription_is_active(api, owner):
    set_plan("pro", stripe_price_monthly=PRO_MONTHLY)
    link_customer(owner.team_id, "cus_owner")
    now = int(time.time())
    unpaid = event("checkout.session.completed", checkout_completed(owner.team_id, "cus_owner", paid=False),
                   created=now)
    assert deliver(api, unpaid).json()["outcome"] == "applied"
    assert (summary(api, owner)["plan"]["id"], summary(api, owner)["status"]) == ("free", "incomplete")
    incomplete = event("customer.subscription.updated", subscription("cus_owner", PRO_MONTHLY, "incomplete"),
                       created=now + 1)
    deliver(api, incomplete)
    assert summary(api, owner)["plan"]["id"] == "free"
    settled = event("customer.subscription.updated", subscription("cus_owner", PRO_MONTHLY, "active"),
                    created=now + 2)
    deliver(api, settled)
    assert (summary(api, owner)["plan"]["id"], summary(api, owner)["status"]) == ("pro", "active")
