"""The Stripe node: create, get, update and list customers; list charges and payment intents.

Shaped like n8n's Stripe node (``resource`` + ``operation``), calling Stripe's API (https://docs.stripe.com/api,
form-encoded requests, JSON answers) with the ``stripe`` credential's secret key:

* customer ``create`` (``POST /v1/customers``: ``email``, ``name``, ``description``, ``phone``, ``metadata``,
  ``address``), ``update`` (``POST /v1/customers/{id}``, the same fields), ``get`` (``GET /v1/customers/{id}``),
  ``get_all`` (``GET /v1/customers``, optional ``email`` filter). ``create`` sends an ``Idempotency-Key`` made
  of the execution, the node and the item, so a retried run does not create the customer twice.
* charge ``get_all`` (``GET /v1/charges``) and payment_intent ``get_all`` (``GET /v1/payment_intents``), optional
  ``customer`` filter.

Listings follow Stripe's cursor: ``starting_after`` the last object's id while ``has_more`` is true, 100 a page,
up to ``limit`` (``return_all``: at most 10,000). Errors quote Stripe's ``error.message`` with its type and code
(``Stripe refused GET /v1/customers/cus_x (404): No such customer: 'cus_x' (invalid_request_error,
resource_missing)``), API keys masked. A 429 (``rate_limit``) is retried after its ``Retry-After`` or 1 s, up to
30 s, 3 times, then reported as transient, as are 5xx answers. Calls go through the platform's address policy.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any, Literal

from pydantic import Field, model_validator

from nodes.sdk import Node, NodeParameters, NodeTransientError, NodeUserError
from nodes.sdk.saas_http import SaasClient, collect, dig, saas_client

MAX_ITEMS = 10_000
PAGE_SIZE = 100  # Stripe's maximum ``limit``
_OPERATIONS = {"customer": ("create", "update", "get", "get_all"), "charge": ("get_all",),
               "payment_intent": ("get_all",)}
_PATHS = {"customer": "/v1/customers", "charge": "/v1/charges", "payment_intent": "/v1/payment_intents"}
_KEY = re.compile(r"\b([sr]k|pk)_(test|live)_[A-Za-z0-9*]+")
_BEARER = re.compile(r"(Bearer|Basic)\s+[^\s'\"]+")
_ID = r"^[A-Za-z0-9_]*$"


class StripeParameters(NodeParameters):
    resource: Literal["customer", "charge", "payment_intent"] = Field("customer", description="What to work with")
    operation: Literal["create", "update", "get", "get_all"] = Field(
        "get_all", description="customer: create, update, get, get_all; charge, payment_intent: get_all")
    customer_id: str = Field("", max_length=255, pattern=_ID, description="customer get/update: the id (cus_...)")
    email: str = Field("", max_length=512, description="customer create/update: the email; get_all: filter by it")
    name: str = Field("", max_length=256, description="customer create/update: the full name")
    description: str = Field("", max_length=5000, description="customer create/update: a note")
    phone: str = Field("", max_length=20, description="customer create/update: the phone number")
    address: dict[str, str] = Field(default_factory=dict, description="customer create/update: line1, line2, "
                                                                      "city, state, postal_code, country")
    metadata: dict[str, str] = Field(default_factory=dict, description="customer create/update: key-value pairs")
    customer: str = Field("", max_length=255, pattern=_ID, description="charge/payment_intent get_all: only this "
                                                                      "customer's")
    return_all: bool = Field(False, description="get_all: every page")
    limit: int = Field(50, ge=1, le=MAX_ITEMS, description="get_all: at most this many objects")

    @model_validator(mode="after")
    def _fits(self) -> StripeParameters:
        if self.operation not in _OPERATIONS[self.resource]:
            raise ValueError(f"{self.resource} has no operation {self.operation!r} "
                             f"(choose {', '.join(_OPERATIONS[self.resource])})")
        if self.operation in ("get", "update") and not self.customer_id:
            raise ValueError(f"customer {self.operation} needs customer_id")
        return self


class Stripe(Node):
    """One Stripe call (or one paged listing) per item."""

    type = "stripe"
    display_name = "Stripe"
    group = "integration"
    icon = "credit-card"
    description = "Create, get, update and list Stripe customers; list charges and payment intents."
    Parameters = StripeParameters
    credential_slots = {"stripe": ("stripe",)}
    side_effects = True

    async def execute(self, ctx, items):
        login = await ctx.credentials("stripe")
        base = login.get("api_base_url", "https://api.stripe.com").rstrip("/")
        async with saas_client(ctx, "Stripe", headers=login["headers"], error_text=_error) as api:
            out: list[dict] = []
            for index in range(len(items)):
                try:
                    out += await _one(ctx, api, base, ctx.params(index), index)
                except (NodeUserError, NodeTransientError) as exc:
                    exc.item_index = index
                    raise
            return out


def _error(body: Any) -> str | None:
    message = dig(body, "error", "message")
    if not message:
        return None
    kinds = [k for k in (dig(body, "error", "type"), dig(body, "error", "code")) if k]
    return _BEARER.sub(r"\1 ***", _KEY.sub(r"\1_\2_***", str(message))) + (f" ({', '.join(kinds)})" if kinds else "")


def form(values: dict, prefix: str = "") -> dict[str, str]:
    """Stripe's form encoding: ``{"metadata": {"plan": "pro"}}`` -> ``{"metadata[plan]": "pro"}``."""
    out: dict[str, str] = {}
    for key, value in values.items():
        name = f"{prefix}[{key}]" if prefix else key
        if isinstance(value, dict):
            out.update(form(value, name))
        elif isinstance(value, bool):
            out[name] = "true" if value else "false"
        elif value is not None:
            out[name] = str(value)
    return out


async def _one(ctx, api: SaasClient, base: str, p: StripeParameters, index: int) -> list[dict]:
    path = _PATHS[p.resource]
    if p.operation == "get_all":
        filters = {"email": p.email} if p.resource == "customer" and p.email else {}
        if p.resource != "customer" and p.customer:
            filters["customer"] = p.customer
        objects = await _list(api, base + path, filters, MAX_ITEMS if p.return_all else p.limit)
        return [{"json": o} for o in objects]
    if p.operation == "get":
        return [{"json": await api.call("GET", f"{base}{path}/{p.customer_id}")}]
    fields = form({k: v for k, v in {"email": p.email, "name": p.name, "description": p.description,
                                     "phone": p.phone, "address": p.address, "metadata": p.metadata}.items() if v})
    if p.operation == "update":
        return [{"json": await api.call("POST", f"{base}{path}/{p.customer_id}", data=fields)}]
    key = hashlib.sha256(f"{ctx.execution_id}|{ctx.node_name}|{index}".encode()).hexdigest()[:40]
    return [{"json": await api.call("POST", base + path, data=fields, headers={"Idempotency-Key": f"lf-{key}"})}]


async def _list(api: SaasClient, url: str, filters: dict, limit: int) -> list[dict]:
    fetched = 0

    async def page(after: str | None) -> tuple[list, str | None]:
        nonlocal fetched
        query = {**filters, "limit": min(PAGE_SIZE, limit - fetched), **({"starting_after": after} if after else {})}
        answer = await api.call("GET", url, params=query)
        rows = dig(answer, "data")
        if not isinstance(rows, list):
            raise NodeUserError(f"Stripe GET {_shown_path(url)} answered without a list's data; "
                                "check the API base URL")
        fetched += len(rows)
        more = dig(answer, "has_more") is True and rows and isinstance(rows[-1], dict)
        return rows, (str(rows[-1].get("id")) if more else None)

    return await collect(page, limit)


def _shown_path(url: str) -> str:
    return "/" + url.split("://", 1)[-1].split("/", 1)[-1].split("?")[0]
