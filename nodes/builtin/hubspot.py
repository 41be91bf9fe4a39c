"""The HubSpot node: create, get, update, search and list contacts (CRM API v3).

Shaped like n8n's HubSpot node (``resource`` + ``operation``), calling HubSpot's CRM v3 objects API
(https://developers.hubspot.com/docs/api/crm/contacts and .../crm/search) with the ``hubspot`` credential:

* contact ``create`` (``POST /crm/v3/objects/contacts`` with ``properties``), ``update`` (``PATCH
  /crm/v3/objects/contacts/{id}``), ``upsert`` (a search by ``properties.email``, then ``PATCH`` the contact found
  or ``POST`` a new one), ``get`` (``GET /crm/v3/objects/contacts/{id}``; ``id_property: email`` looks it
  up by email): the output is HubSpot's object (``id``, ``properties``, ``createdAt``...).
* contact ``search`` (``POST /crm/v3/objects/contacts/search``: ``filters`` ANDed, each ``{property, operator,
  value}`` with HubSpot's operators EQ, NEQ, LT, LTE, GT, GTE, CONTAINS_TOKEN, HAS_PROPERTY...; and/or a free-text
  ``query``) and ``get_all`` (``GET /crm/v3/objects/contacts``): one item per contact, following
  ``paging.next.after`` page by page (100 a page, 200 for search) up to ``limit`` (``return_all``: at most 10,000;
  HubSpot's search stops at 10,000 results). ``property_names`` chooses the properties returned.

Errors quote HubSpot's ``message`` and ``category`` (``HubSpot refused POST /crm/v3/objects/contacts (409):
Contact already exists. Existing ID: 501 (CONFLICT)``). A 429 (``RATE_LIMIT``) is waited out as ``Retry-After``
says (1 s if it does not), up to 30 s, 3 times, then reported as transient, as are 5xx answers. Calls go through
the platform's address policy.
"""

from __future__ import annotations

from typing import Any, Literal
from urllib.parse import quote

from pydantic import BaseModel, Field, model_validator

from nodes.sdk import Node, NodeParameters, NodeTransientError, NodeUserError
from nodes.sdk.saas_http import SaasClient, collect, dig, saas_client

MAX_ITEMS = 10_000
PAGE_SIZE = 100  # GET list maximum
SEARCH_PAGE_SIZE = 200  # search maximum
_OPERATORS = ("EQ", "NEQ", "LT", "LTE", "GT", "GTE", "BETWEEN", "IN", "NOT_IN", "HAS_PROPERTY", "NOT_HAS_PROPERTY",
              "CONTAINS_TOKEN", "NOT_CONTAINS_TOKEN")


class HubSpotFilter(BaseModel):
    property: str = Field(min_length=1, max_length=100, description="The property's internal name (email, ...)")
    operator: Literal[_OPERATORS] = Field("EQ", description="HubSpot's filter operator")
    value: str = Field("", max_length=1000, description="The value (not for HAS_PROPERTY / NOT_HAS_PROPERTY)")


class HubSpotParameters(NodeParameters):
    resource: Literal["contact"] = Field("contact", description="What to work with")
    operation: Literal["create", "update", "upsert", "get", "search", "get_all"] = Field(
        "create", description="contact: create, update, upsert (by email), get, search, get_all")
    contact_id: str = Field("", max_length=320, description="get/update: the contact's id (or email, see id_property)")
    id_property: Literal["", "email"] = Field("", description="get: 'email' to look the contact up by email")
    properties: dict[str, Any] = Field(default_factory=dict, description="create/update: property values "
                                                                         "({\"email\": ..., \"firstname\": ...})")
    property_names: list[str] = Field(default_factory=list, max_length=200,
                                      description="get/search/get_all: the properties to return (empty: HubSpot's "
                                                  "defaults)")
    filters: list[HubSpotFilter] = Field(default_factory=list, max_length=6,
                                         description="search: conditions that must all hold (up to 6)")
    query: str = Field("", max_length=3000, description="search: free text matched against default properties")
    return_all: bool = Field(False, description="search/get_all: every page")
    limit: int = Field(50, ge=1, le=MAX_ITEMS, description="search/get_all: at most this many contacts")

    @model_validator(mode="after")
    def _fits(self) -> HubSpotParameters:
        if self.operation in ("get", "update") and not self.contact_id:
            raise ValueError(f"contact {self.operation} needs contact_id")
        if self.operation in ("create", "update", "upsert") and not self.properties:
            raise ValueError(f"contact {self.operation} needs properties")
        if self.operation == "upsert" and not self.properties.get("email"):
            raise ValueError("contact upsert needs properties.email (the contact is found by it)")
        if self.operation == "search" and not (self.filters or self.query):
            raise ValueError("contact search needs filters or a query")
        return self


class HubSpot(Node):
    """One HubSpot call (or one paged listing) per item."""

    type = "hubspot"
    display_name = "HubSpot"
    group = "integration"
    icon = "contact"
    description = "Create, get, update, search and list HubSpot contacts."
    Parameters = HubSpotParameters
    credential_slots = {"hubspot": ("hubspot",)}
    side_effects = True

    async def execute(self, ctx, items):
        login = await ctx.credentials("hubspot")
        base = login.get("api_base_url", "https://api.hubapi.com").rstrip("/") + "/crm/v3/objects/contacts"
        async with saas_client(ctx, "HubSpot", headers=login["headers"], error_text=_error) as api:
            out: list[dict] = []
            for index in range(len(items)):
                try:
                    out += await _one(api, base, ctx.params(index))
                except (NodeUserError, NodeTransientError) as exc:
                    exc.item_index = index
                    raise
            return out


def _error(body: Any) -> str | None:
    message, category = dig(body, "message"), dig(body, "category") or dig(body, "errorType")
    return f"{message}" + (f" ({category})" if category else "") if message else None


def _values(properties: dict) -> dict[str, str]:
    """HubSpot stores property values as strings; booleans as "true"/"false"."""
    return {k: ("true" if v else "false") if isinstance(v, bool) else "" if v is None else
            v if isinstance(v, str) else str(v) for k, v in properties.items()}


async def _one(api: SaasClient, base: str, p: HubSpotParameters) -> list[dict]:
    limit = MAX_ITEMS if p.return_all else p.limit
    if p.operation == "create":
        return [{"json": await api.call("POST", base, json={"properties": _values(p.properties)})}]
    if p.operation == "update":
        return [{"json": await api.call("PATCH", f"{base}/{_segment(p.contact_id)}",
                                        json={"properties": _values(p.properties)})}]
    if p.operation == "upsert":
        return [{"json": await _upsert(api, base, _values(p.properties))}]
    if p.operation == "get":
        query = {**({"idProperty": p.id_property} if p.id_property else {}),
                 **({"properties": ",".join(p.property_names)} if p.property_names else {})}
        return [{"json": await api.call("GET", f"{base}/{_segment(p.contact_id)}", params=query)}]
    fetched = 0

    async def page(after: str | None) -> tuple[list, str | None]:
        nonlocal fetched
        if p.operation == "search":
            body: dict[str, Any] = {"limit": min(SEARCH_PAGE_SIZE, limit - fetched)}
            if p.filters:
                body["filterGroups"] = [{"filters": [_filter(f) for f in p.filters]}]
            if p.query:
                body["query"] = p.query
            if p.property_names:
                body["properties"] = p.property_names
            if after:
                body["after"] = after
            answer = await api.call("POST", f"{base}/search", json=body)
        else:
            query = {"limit": min(PAGE_SIZE, limit - fetched), **({"after": after} if after else {}),
                     **({"properties": ",".join(p.property_names)} if p.property_names else {})}
            answer = await api.call("GET", base, params=query)
        rows = dig(answer, "results")
        if not isinstance(rows, list):
            raise NodeUserError("HubSpot answered without 'results'; check the API base URL")
        fetched += len(rows)
        following = dig(answer, "paging", "next", "after")
        return rows, (str(following) if following else None)

    return [{"json": c} for c in await collect(page, limit)]


async def _upsert(api: SaasClient, base: str, properties: dict[str, str]) -> dict:
    """Update the contact with this email, or create it (as n8n's HubSpot upsert does)."""
    search = {"filterGroups": [{"filters": [{"propertyName": "email", "operator": "EQ",
                                             "value": properties["email"]}]}], "limit": 1}
    found = dig(await api.call("POST", f"{base}/search", json=search), "results") or []
    if found and isinstance(found[0], dict) and found[0].get("id"):
        return await api.call("PATCH", f"{base}/{_segment(str(found[0]['id']))}", json={"properties": properties})
    return await api.call("POST", base, json={"properties": properties})


def _filter(f: HubSpotFilter) -> dict:
    out = {"propertyName": f.property, "operator": f.operator}
    if f.operator in ("IN", "NOT_IN"):
        out["values"] = [v.strip() for v in f.value.split(",") if v.strip()]
    elif f.operator not in ("HAS_PROPERTY", "NOT_HAS_PROPERTY"):
        out["value"] = f.value
    return out


def _segment(value: str) -> str:
    """An id or email as one path segment (``/`` and ``..`` cannot climb out of the contacts path)."""
    if value.strip(".") == "":
        raise NodeUserError(f"{value!r} is not a contact id or email")
    return quote(value, safe="@")
