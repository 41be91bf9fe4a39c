"""Helpers of the billing tests (a plain module; the integration tests import it too).

Stripe is never mocked here: events are signed with the endpoint secret exactly as Stripe signs
them (``Stripe-Signature: t=<unix time>,v1=<hex HMAC-SHA256 of "<t>.<body>">``) and posted to
/stripe/webhook; the tests that call Stripe's API run against stripe-mock (tests/integration).
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import time
import uuid

from sqlalchemy import func, select

from backend.billing import plans
from backend.billing.models import FREE_PLAN, Subscription, Usage, UsageRecord
from backend.db.session import session_scope
from backend.executions.models import Execution

SECRET = "whsec_linkflow_tests_only"
STRIPE_SETTINGS = {"BILLING_BACKEND": "stripe", "BILLING_STRIPE_API_KEY": "sk_test_linkflow",
                   "BILLING_STRIPE_WEBHOOK_SECRET": SECRET}
_ids = itertools.count(1)


def sign(body: bytes, secret: str = SECRET, timestamp: int | None = None) -> str:
    """The Stripe-Signature header Stripe would send for ``body``."""
    timestamp = int(time.time()) if timestamp is None else timestamp
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def event(kind: str, obj: dict, *, created: int | None = None, event_id: str | None = None) -> bytes:
    return json.dumps({"id": event_id or f"evt_test_{next(_ids)}_{uuid.uuid4().hex[:8]}", "object": "event",
                       "type": kind, "created": created or int(time.time()), "livemode": False,
                       "data": {"object": obj}}).encode()


def deliver(client, body: bytes, *, secret: str = SECRET, timestamp: int | None = None):
    """POST a signed event to /stripe/webhook as Stripe would."""
    return client.post("/stripe/webhook", content=body,
                       headers={"Stripe-Signature": sign(body, secret, timestamp), "Content-Type": "application/json"})


def checkout_completed(team_id: str, customer: str, plan_id: str = "pro", *, interval: str = "month",
                       subscription: str = "sub_test_1", paid: bool = True) -> dict:
    return {"id": f"cs_test_{uuid.uuid4().hex[:12]}", "object": "checkout.session", "mode": "subscription",
            "customer": customer, "subscription": subscription, "client_reference_id": team_id,
            "payment_status": "paid" if paid else "unpaid",
            "metadata": {"team_id": team_id, "plan_id": plan_id, "interval": interval}}


def subscription(customer: str, price: str, status: str = "active", *, sub_id: str = "sub_test_1",
                 start: int | None = None, interval: str = "month", cancel_at_period_end: bool = False) -> dict:
    start = start or int(time.time()) - 3600
    end = start + (31 if interval == "month" else 366) * 86400
    return {"id": sub_id, "object": "subscription", "customer": customer, "status": status,
            "cancel_at_period_end": cancel_at_period_end, "metadata": {},
            "items": {"object": "list", "data": [{"id": "si_test", "current_period_start": start,
                                                   "current_period_end": end,
                                                   "price": {"id": price, "recurring": {"interval": interval}}}]}}


def invoice(customer: str, sub_id: str = "sub_test_1") -> dict:
    return {"id": f"in_test_{uuid.uuid4().hex[:10]}", "object": "invoice", "customer": customer,
            "subscription": sub_id, "amount_due": 2000}


def set_plan(plan_id: str = FREE_PLAN, **values) -> None:
    """Change a plan's limits or prices for a test (instance admins do it through the admin API)."""
    with session_scope() as session:
        plans.update_plan(session, plan_id, values)


def link_customer(team_id: str, customer: str) -> None:
    """The Stripe customer the first checkout would have created for the team."""
    with session_scope() as session:
        plans.subscription_row(session, team_id).stripe_customer_id = customer


def subscription_of(team_id: str) -> Subscription | None:
    with session_scope() as session:
        sub = session.scalar(select(Subscription).where(Subscription.team_id == team_id))
        if sub is not None:
            session.expunge(sub)
        return sub


def counted(team_id: str) -> int:
    """The team's execution counter, summed over periods."""
    with session_scope() as session:
        return session.scalar(select(func.coalesce(func.sum(Usage.quantity), 0))
                              .where(Usage.team_id == team_id, Usage.metric == "executions")) or 0


def records(team_id: str) -> int:
    with session_scope() as session:
        return session.scalar(select(func.count()).select_from(UsageRecord).where(UsageRecord.team_id == team_id))


def execution_count() -> int:
    with session_scope() as session:
        return session.scalar(select(func.count()).select_from(Execution)) or 0


def webhook_flow(path: str, *, respond: str = "immediately", save_data: str = "all") -> dict:
    return {"nodes": [{"id": "hook", "name": "Webhook", "type": "webhook", "version": 1, "position": [0, 0],
                       "parameters": {"path": path, "method": "POST", "respond": respond}},
                      {"id": "noop", "name": "Noop", "type": "noop", "version": 1, "position": [200, 0]}],
            "connections": [{"from": "hook", "to": "noop"}], "settings": {"save_data": save_data}}


def manual_flow() -> dict:
    return {"nodes": [{"id": "t", "name": "Start", "type": "manual_trigger", "version": 1, "position": [0, 0]}],
            "connections": []}
