"""The Stripe Trigger: Stripe events (charge.succeeded, invoice.paid...) start the workflow.

Like n8n's Stripe Trigger: ``events`` lists the event types (``*`` for all). Activating the workflow creates a
webhook endpoint through Stripe's API (``POST /v1/webhook_endpoints`` with ``url`` and ``enabled_events``,
https://docs.stripe.com/api/webhook_endpoints/create) and keeps the endpoint's signing secret (``whsec_...``,
which Stripe returns only then) encrypted; deactivating deletes the endpoint.

Each event's ``Stripe-Signature`` header (``t=<unix time>,v1=<hex HMAC-SHA256 of "<t>.<raw body>">``,
https://docs.stripe.com/webhooks#verify-manually) is checked before the body is read, and a ``t`` further than
``tolerance_s`` from now is refused, so a captured event cannot be replayed later. The item is the event object.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Mapping

from pydantic import Field, field_validator

from nodes.sdk import NodeParameters
from nodes.sdk.vendor_webhook import Registration, VendorRefused, VendorWebhookTrigger, same, vendor_answer

_EVENT = re.compile(r"^(\*|[a-z_]+(\.[a-z_*]+)+)$")


class StripeTriggerParameters(NodeParameters):
    events: list[str] = Field(["*"], min_length=1, max_length=200,
                              description="Event types, e.g. charge.succeeded, invoice.paid; '*' for every event")
    tolerance_s: int = Field(300, ge=1, le=3600,
                             description="refuse events signed longer ago (or further ahead) than this")

    @field_validator("events")
    @classmethod
    def _events(cls, value: list[str]) -> list[str]:
        bad = [event for event in value if not _EVENT.match(event)]
        if bad:
            raise ValueError(f"not Stripe event types: {', '.join(map(repr, bad))} (e.g. 'charge.succeeded' or '*')")
        return sorted(set(value))


class StripeTrigger(VendorWebhookTrigger):
    type = "stripe_trigger"
    display_name = "Stripe Trigger"
    vendor = "Stripe"
    icon = "credit-card"
    description = "Starts the workflow on Stripe events; creates and deletes the webhook endpoint itself."
    Parameters = StripeTriggerParameters
    credential_slots = {"stripe": ("stripe",)}

    def register(self, http, login, params, url, secret):
        form = {"url": url, "description": "LinkFlow workflow trigger", "enabled_events[]": params.events}
        response = http.post(f"{_base(login)}/v1/webhook_endpoints", headers=login["headers"], data=form)
        answer = vendor_answer("Stripe", "creating a webhook endpoint", response)
        if not isinstance(answer, dict) or not answer.get("secret") or not answer.get("id"):
            raise VendorRefused("Stripe created a webhook endpoint but sent no signing secret; check the "
                                "credential's API base URL")
        return Registration(external_id=str(answer["id"]), secret=str(answer["secret"]))

    def unregister(self, http, login, params, registration):
        response = http.delete(f"{_base(login)}/v1/webhook_endpoints/{registration.external_id}",
                               headers=login["headers"])
        if response.status_code != 404:
            vendor_answer("Stripe", f"deleting webhook endpoint {registration.external_id}", response)

    def refusal(self, headers: Mapping[str, str], body: bytes, secret: str, now: float,
                params: StripeTriggerParameters) -> str | None:
        tolerance_s = params.tolerance_s
        header = headers.get("stripe-signature")
        if not header:
            return "no Stripe-Signature header"
        stamp, signatures = "", []
        for part in header.split(","):
            key, _, value = part.strip().partition("=")
            if key == "t":
                stamp = value
            elif key == "v1":
                signatures.append(value)
        if not stamp.isdigit() or not signatures:
            return "the Stripe-Signature header has no t= timestamp or no v1= signature"
        if abs(now - int(stamp)) > tolerance_s:
            return f"the Stripe-Signature timestamp is more than {tolerance_s} s away from now (a replay?)"
        expected = hmac.new(secret.encode(), stamp.encode() + b"." + body, hashlib.sha256).hexdigest()
        return None if any(same(given, expected) for given in signatures) else \
            "no v1 signature in Stripe-Signature matches the body"

    def wanted(self, headers, document, params) -> bool:
        kind = document.get("type", "") if isinstance(document, dict) else ""
        return "*" in params.events or kind in params.events or any(
            event.endswith(".*") and kind.startswith(event[:-1]) for event in params.events)


def _base(login: dict) -> str:
    return str(login.get("api_base_url") or "https://api.stripe.com").rstrip("/")
