"""Stripe's webhook: signed events change a team's subscription, each exactly once, newest state wins.

* The signature (``Stripe-Signature: t=...,v1=...``, HMAC-SHA256 with the endpoint secret) is checked
  by ``stripe.Webhook.construct_event`` before anything is read; a wrong, missing or too old one
  (``LINKFLOW_BILLING_WEBHOOK_TOLERANCE_SECONDS``: a replay) is a 400 that changes nothing.
* Idempotent by event id: ``billing_events`` keeps every handled id; the same event again is a 200
  that changes nothing.
* Out of order: each event's object is a full snapshot of the subscription or invoice at the event's
  ``created`` time. A team keeps the ``created`` of the newest event applied; an older one arriving
  later is recorded as ``stale`` and changes nothing. On a tie, an ended subscription stays ended.
* Audited (``billing.<event type>``) in the team's trail, in the same transaction.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from backend.auth import audit
from backend.billing import subscriptions as subs
from backend.billing.gate import execution_gate
from backend.billing.models import FREE_PLAN, BillingEvent, Plan, Subscription
from backend.billing.notices import downgraded_notice, payment_failed_notice, record_for_owners
from backend.billing.plans import team_plan
from backend.db.base import utcnow
from backend.db.session import session_scope
from backend.errors import UserError
from backend.notifications import once
from backend.settings import get_settings

log = logging.getLogger("linkflow.billing.webhook")
HANDLED = ("checkout.session.completed", "customer.subscription.created", "customer.subscription.updated",
           "customer.subscription.deleted", "invoice.paid", "invoice.payment_failed")


class InvalidSignature(UserError):
    code = "invalid_signature"


@dataclass
class Outcome:
    status: str  # applied | stale | ignored | duplicate
    team_id: str | None = None
    reason: str = ""
    notices: list[once.Notice] | None = None


def verify(payload: bytes, signature: str | None) -> dict:
    """The event, if Stripe signed exactly these bytes within the tolerance; else InvalidSignature (400)."""
    import stripe  # here, not at start-up (~40 ms of every start)

    billing = get_settings().billing
    if not signature:
        raise InvalidSignature("the request has no Stripe-Signature header; only Stripe may call this endpoint")
    try:
        stripe.Webhook.construct_event(payload, signature, billing.stripe_webhook_secret,
                                       tolerance=billing.webhook_tolerance_seconds)
    except stripe.SignatureVerificationError as exc:
        raise InvalidSignature(f"the Stripe signature does not match this body, or is older than "
                               f"{billing.webhook_tolerance_seconds} s ({exc.user_message or exc})") from None
    except ValueError:
        raise InvalidSignature("the body is not a Stripe event (not JSON)") from None
    event = json.loads(payload)
    if not isinstance(event, dict) or not isinstance(event.get("id"), str) or not isinstance(event.get("type"), str):
        raise InvalidSignature("the body is not a Stripe event (no id or type)")
    return event


def handle(payload: bytes, signature: str | None) -> Outcome:
    event = verify(payload, signature)
    created = event.get("created") if isinstance(event.get("created"), int) else 0
    with session_scope() as session:
        if not _first_time(session, event["id"], event["type"], created):
            return Outcome("duplicate")
        outcome = _apply(session, event, created) if event["type"] in HANDLED else Outcome("ignored", reason="type")
        session.execute(BillingEvent.__table__.update().where(BillingEvent.id == event["id"])
                        .values(outcome=outcome.status, team_id=outcome.team_id))
        if outcome.team_id is not None:
            audit.record(session, f"billing.{event['type']}", actor_id=None, team_id=outcome.team_id,
                         object_type="stripe_event", object_id=event["id"][:32],
                         details={"outcome": outcome.status, "reason": outcome.reason, "stripe_event": event["id"]})
        mails = record_for_owners(session, outcome.notices or [])
    once.deliver(mails)
    if outcome.team_id is not None and (gate := execution_gate()) is not None:
        gate.forget(outcome.team_id)
    log.info("stripe event handled", extra={"event_id": event["id"], "type": event["type"],
                                            "outcome": outcome.status, "team_id": outcome.team_id})
    return outcome


def _first_time(session: Session, event_id: str, kind: str, created: int) -> bool:
    insert = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}[session.get_bind().dialect.name]
    # RETURNING, not rowcount: psycopg reports no row count for an ORM-level INSERT ... ON CONFLICT.
    inserted = session.execute(insert(BillingEvent).values(
        id=event_id[:255], type=kind[:100], created=created, outcome="pending", received_at=utcnow(),
    ).on_conflict_do_nothing(index_elements=["id"]).returning(BillingEvent.id)).first()
    return inserted is not None


def _apply(session: Session, event: dict, created: int) -> Outcome:
    obj = (event.get("data") or {}).get("object") or {}
    kind = event["type"]
    if kind == "checkout.session.completed":
        return _checkout_completed(session, obj, created)
    if kind.startswith("customer.subscription."):
        return _subscription_changed(session, obj, created, deleted=kind.endswith(".deleted"))
    return _invoice(session, obj, created, paid=kind == "invoice.paid")


def _by_customer(session: Session, customer: object) -> Subscription | None:
    if not isinstance(customer, str) or not customer:
        return None
    return session.scalar(select(Subscription).where(Subscription.stripe_customer_id == customer).with_for_update())


def _stale(sub: Subscription, created: int) -> bool:
    return created < sub.stripe_state_at


def _checkout_completed(session: Session, obj: dict, created: int) -> Outcome:
    sub = _by_customer(session, obj.get("customer"))
    metadata = obj.get("metadata") or {}
    team_id = obj.get("client_reference_id") or metadata.get("team_id")
    if sub is None or sub.team_id != team_id:
        return Outcome("ignored", reason="the customer is not the team's")  # never another team's subscription
    plan_id, interval = metadata.get("plan_id"), metadata.get("interval") or "month"
    if obj.get("mode") != "subscription" or not obj.get("subscription") or session.get(Plan, plan_id or "") is None:
        return Outcome("ignored", sub.team_id, "not a subscription checkout of a known plan")
    if _stale(sub, created) and sub.stripe_subscription_id == obj["subscription"]:
        return Outcome("stale", sub.team_id, "a newer event described this subscription")
    paid = obj.get("payment_status") in ("paid", "no_payment_required")
    subs.apply_checkout(sub, plan_id=plan_id, interval=interval, subscription_id=str(obj["subscription"]),
                        paid=paid, at=utcnow())
    sub.stripe_state_at = max(sub.stripe_state_at, created)
    return Outcome("applied", sub.team_id, f"plan {plan_id}")


def _subscription_changed(session: Session, obj: dict, created: int, *, deleted: bool) -> Outcome:
    state = subs.StripeSubscription.parse(obj)
    sub = _by_customer(session, state.customer)
    if sub is None:
        return Outcome("ignored", reason="unknown customer")
    other = sub.stripe_subscription_id not in (None, state.id)
    if other and (deleted or state.status in subs.ENDED or created <= sub.stripe_state_at):
        return Outcome("stale", sub.team_id, f"about subscription {state.id}; the team is on another one")
    ended_already = sub.status in ("canceled", "free") and sub.stripe_state_at > 0
    if _stale(sub, created) or (created == sub.stripe_state_at and ended_already and not deleted):
        return Outcome("stale", sub.team_id, "a newer event was applied")
    if deleted and sub.stripe_subscription_id is None and sub.plan_id == FREE_PLAN:
        sub.stripe_state_at = max(sub.stripe_state_at, created)
        return Outcome("applied", sub.team_id, "already on Free")  # e.g. our own cancel after the grace period
    result = subs.apply_subscription(session, sub, state, deleted=deleted)
    sub.stripe_state_at = max(sub.stripe_state_at, created)
    notices = []
    if result == "ended":
        names = subs.downgrade_to_free(session, sub, "the Stripe subscription ended")
        sub.stripe_state_at = max(sub.stripe_state_at, created)
        notices.append(downgraded_notice(sub.team_id, _team_name(session, sub.team_id), f"{sub.team_id}:{created}",
                                         names))
    elif result == "past_due" and (plan := team_plan(session, sub.team_id)) is not None:
        notices.append(payment_failed_notice(plan, f"{sub.team_id}:{sub.payment_failed_at.isoformat()}"))
    return Outcome("applied", sub.team_id, result, notices)


def _invoice(session: Session, obj: dict, created: int, *, paid: bool) -> Outcome:
    sub = _by_customer(session, obj.get("customer"))
    if sub is None:
        return Outcome("ignored", reason="unknown customer")
    if _stale(sub, created):
        return Outcome("stale", sub.team_id, "a newer event was applied")
    sub.stripe_state_at = created
    if paid:
        subs.clear_payment_failure(sub)
        return Outcome("applied", sub.team_id, "paid")
    if sub.plan_id == FREE_PLAN or not subs.start_payment_grace(sub, utcnow()):
        return Outcome("applied", sub.team_id, "payment failed (grace already running)")
    session.flush()
    plan = team_plan(session, sub.team_id)
    return Outcome("applied", sub.team_id, "payment failed",
                   [payment_failed_notice(plan, f"{sub.team_id}:{sub.payment_failed_at.isoformat()}")])


def _team_name(session: Session, team_id: str) -> str:
    plan = team_plan(session, team_id)
    return plan.team_name if plan else team_id
