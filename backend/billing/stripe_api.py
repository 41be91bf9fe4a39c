"""The calls LinkFlow makes to Stripe, through the ``stripe`` library's client.

``LINKFLOW_BILLING_STRIPE_API_BASE`` points the client somewhere else than Stripe (the tests use
stripe-mock); it is the client's ``base_addresses["api"]``, the per-client form of ``stripe.api_base``.
Every call that creates something carries an idempotency key, so a retry after a lost answer
creates nothing twice. Stripe's errors become the three kinds of error at this edge.
"""

from __future__ import annotations

import contextlib
import functools
import logging
from collections.abc import Iterator
from datetime import datetime
from typing import TYPE_CHECKING

from backend.errors import UserError
from backend.settings import get_settings

if TYPE_CHECKING:
    import stripe

log = logging.getLogger("linkflow.billing.stripe")
TIMEOUT_S = 20


class StripeUnavailable(UserError):
    """Stripe could not be reached or answered 5xx / 429: try again shortly."""

    status_code = 503
    code = "stripe_unavailable"
    headers = {"Retry-After": "30"}


class StripeRefused(UserError):
    """Stripe refused the request: usually a configuration to fix (a price id, the API key)."""

    status_code = 502
    code = "stripe_refused"


@functools.cache
def client() -> stripe.StripeClient:
    import stripe  # here, not at start-up: most installs never call Stripe (~40 ms of every start)

    billing = get_settings().billing
    base = billing.stripe_api_base.rstrip("/") or None
    return stripe.StripeClient(billing.stripe_api_key, base_addresses={"api": base} if base else None,
                               max_network_retries=2, http_client=stripe.HTTPXClient(timeout=TIMEOUT_S, allow_sync_methods=True))


@contextlib.contextmanager
def call(what: str) -> Iterator[None]:
    import stripe

    try:
        yield
    except (stripe.APIConnectionError, stripe.RateLimitError) as exc:
        raise StripeUnavailable(f"could not {what}: Stripe did not answer ({exc.user_message or exc}); "
                                "try again in a minute") from exc
    except stripe.APIError as exc:
        raise StripeUnavailable(f"could not {what}: Stripe failed ({exc.user_message or exc}); try again in a "
                                "minute") from exc
    except stripe.AuthenticationError as exc:
        raise StripeRefused(f"could not {what}: Stripe refused the API key (LINKFLOW_BILLING_STRIPE_API_KEY)"
                            ) from exc
    except stripe.StripeError as exc:
        raise StripeRefused(f"could not {what}: Stripe said: {exc.user_message or exc}") from exc


def create_customer(team_id: str, team_name: str) -> str:
    with call("create the Stripe customer"):
        customer = client().v1.customers.create(
            params={"name": team_name[:200], "metadata": {"team_id": team_id}},
            options={"idempotency_key": f"linkflow-customer-{team_id}"})
    return customer.id


def create_checkout(*, team_id: str, customer_id: str, plan_id: str, interval: str, price: str,
                    overage_price: str | None, success_url: str, cancel_url: str, idempotency_key: str) -> tuple[str, str]:
    """A Checkout Session for the plan's price (and its metered overage price); (id, url)."""
    line_items: list[dict] = [{"price": price, "quantity": 1}]
    if overage_price:
        line_items.append({"price": overage_price})  # metered: no quantity, billed from meter events
    metadata = {"team_id": team_id, "plan_id": plan_id, "interval": interval}
    with call("start the Stripe Checkout"):
        session = client().v1.checkout.sessions.create(params={
            "mode": "subscription", "customer": customer_id, "client_reference_id": team_id,
            "line_items": line_items, "success_url": success_url, "cancel_url": cancel_url, "metadata": metadata,
            "subscription_data": {"metadata": metadata}}, options={"idempotency_key": idempotency_key})
    return session.id, session.url


def create_portal(customer_id: str, return_url: str) -> str:
    with call("open the Stripe customer portal"):
        return client().v1.billing_portal.sessions.create(
            params={"customer": customer_id, "return_url": return_url}).url


def list_invoices(customer_id: str, limit: int = 24) -> list[dict]:
    with call("list the invoices"):
        invoices = client().v1.invoices.list(params={"customer": customer_id, "limit": limit})
    return [invoice.to_dict() for invoice in invoices.data]


def send_meter_event(*, identifier: str, customer_id: str, quantity: int, at: datetime) -> None:
    """One billing meter event; ``identifier`` is also the idempotency key, so Stripe counts it once."""
    event_name = get_settings().billing.stripe_meter_event
    with call("report usage to Stripe"):
        client().v1.billing.meter_events.create(params={
            "event_name": event_name, "identifier": identifier, "timestamp": int(at.timestamp()),
            "payload": {"stripe_customer_id": customer_id, "value": str(quantity)}},
            options={"idempotency_key": identifier})


def cancel_subscription(subscription_id: str) -> None:
    with call("cancel the Stripe subscription"):
        client().v1.subscriptions.cancel(subscription_id)


def meter_totals(customer_id: str, start: datetime, end: datetime) -> int | None:
    """What Stripe's meter added up for the customer in [start, end); None without a meter of our event."""
    event_name = get_settings().billing.stripe_meter_event
    with call("read the meter from Stripe"):
        meter = next((m for m in client().v1.billing.meters.list(params={"limit": 100}).data
                      if m.event_name == event_name), None)
        if meter is None:
            return None
        summaries = client().v1.billing.meters.event_summaries.list(meter.id, params={
            "customer": customer_id, "start_time": int(start.timestamp()), "end_time": int(end.timestamp())})
    return sum(int(s.aggregated_value) for s in summaries.data)
