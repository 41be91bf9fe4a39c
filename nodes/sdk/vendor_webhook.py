"""Vendor webhook triggers: a SaaS calls LinkFlow's webhook URL and signs each call (GitHub, Stripe, Slack...).

A node type subclasses ``VendorWebhookTrigger`` and says how to talk to its vendor::

    class GitHubTrigger(VendorWebhookTrigger):
        type = "github_trigger"
        vendor = "GitHub"
        credential_slots = {"github": ("github",)}

        def register(self, http, login, params, url, secret):   # create the hook at the vendor
            answer = http.post(...)
            return Registration(external_id=str(answer["id"]), secret=secret)

        def unregister(self, http, login, params, registration): ...   # delete it
        def refusal(self, headers, body, secret, now, params): ...   # why a request is not the vendor's, or None

The platform (``backend/vendorhooks``) calls ``register`` when the workflow is activated, with a client
that goes through the address policy, the credential's injection (``login``), the public URL the vendor
must call and a fresh random secret; it stores the registration's secret encrypted and never shows it.
A request to the URL is read whole (within the webhook body limit), ``refusal`` runs on the raw bytes
before anything parses them (a refusal is a 401 and no execution), then ``handshake`` may answer it
without a run (GitHub's ping, Slack's url_verification), ``wanted`` may drop event types the node does
not listen to (200, no run), and ``item`` turns the request into the execution's first item.
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

import httpx

from nodes.sdk.errors import NodeUserError
from nodes.sdk.node import Node, NodeParameters, TriggerSpec

REGISTER_TIMEOUT_S = 15.0


@dataclass(frozen=True)
class Registration:
    """What the vendor gave back: its id for the hook and the secret requests will be checked with."""

    external_id: str
    secret: str


class VendorRefused(NodeUserError):
    """The vendor refused a registration call; the message names the vendor and quotes its message."""


class VendorWebhookTrigger(Node):
    """Base class of triggers a vendor calls through a registered webhook (see the module docstring)."""

    abstract = True
    vendor: ClassVar[str]
    trigger = TriggerSpec(kind="vendor_webhook")
    side_effects = False
    inputs = ()
    group = "trigger"
    secret_header: ClassVar[str | None] = None  # a header carrying the secret itself: redacted in the item

    def register(self, http: httpx.Client, login: dict, params: NodeParameters, url: str,
                 secret: str) -> Registration:
        raise NotImplementedError

    def unregister(self, http: httpx.Client, login: dict, params: NodeParameters, registration: Registration) -> None:
        raise NotImplementedError

    def refusal(self, headers: Mapping[str, str], body: bytes, secret: str, now: float,
                params: NodeParameters) -> str | None:
        raise NotImplementedError

    def handshake(self, headers: Mapping[str, str], document: Any) -> tuple[int, Any] | None:
        """An answer to give instead of running the workflow (status, JSON body), or None."""
        return None

    def wanted(self, headers: Mapping[str, str], document: Any, params: NodeParameters) -> bool:
        """Whether this event type is one the node listens to."""
        return True

    def item(self, request: dict) -> dict:
        """The first item's json from the request's ``{"body", "headers", "query", ...}``."""
        return request.get("body") if isinstance(request.get("body"), dict) else request

    async def execute(self, ctx, items):
        return items


def same(given: str | None, expected: str) -> bool:
    """Constant-time comparison of a secret or a signature."""
    return given is not None and hmac.compare_digest(given.encode(), expected.encode())


def vendor_answer(vendor: str, call: str, response: httpx.Response) -> Any:
    """The JSON answer of a successful call, or ``VendorRefused`` naming the vendor's own message."""
    try:
        answer = response.json()
    except ValueError:
        answer = None
    if response.is_success:
        return answer
    raise VendorRefused(f"{vendor} refused {call} (HTTP {response.status_code}): {_message(answer, response)}")


def _message(answer: Any, response: httpx.Response) -> str:
    if isinstance(answer, dict):
        error = answer.get("error")
        if isinstance(error, dict) and error.get("message"):
            return str(error["message"])
        if answer.get("description"):  # Telegram
            return str(answer["description"])
        if answer.get("message"):  # GitHub
            details = [e.get("message") for e in answer.get("errors") or [] if isinstance(e, dict) and e.get("message")]
            return str(answer["message"]) + (f" ({'; '.join(details)})" if details else "")
        if isinstance(error, str):
            return error
        return json.dumps(answer)[:300]
    return (response.text or "no body")[:300]
