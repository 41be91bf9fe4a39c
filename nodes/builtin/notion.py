"""The Notion node: query databases, create, read and update pages, append and read blocks.

Shaped like n8n's Notion node (``resource`` + ``operation``), calling Notion's API (version 2022-06-28) with
the ``notion`` credential's integration secret:

* database_page ``get_all`` (query ``database_id`` with Notion's ``filter`` and ``sorts`` JSON), ``create``
  (a row in ``database_id``; ``title`` fills the database's title property, whatever it is named), ``get`` and ``update`` (``page_id``; ``archived`` true archives it);
* page ``create`` (a page under the page ``page_id``, with ``title``) and ``archive``;
* block ``append`` (to ``block_id``, a page id or block id) and ``get_all`` (its children).

Properties are given either as ``property_values`` ``[{"name": "Status", "type": "select", "value": "Open"}]``
(types: title, rich_text, number, checkbox, select, multi_select, status, date, url, email, phone_number,
people, relation), or as Notion's own ``properties`` JSON; content as ``text`` (one paragraph a line) and/or
Notion ``blocks``. Ids may be given as Notion URLs. Listings follow ``next_cursor``/``start_cursor``, 100 a
page, up to ``limit`` (``return_all``: every page, at most 10,000). Errors name Notion's code and message
(``Notion refused POST /v1/pages (400): validation_error: Size is not a property that exists.``); a 429 is
waited out as ``Retry-After`` says (up to 30 s, 3 tries), then reported as transient.
"""

from __future__ import annotations

import json
import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from nodes.sdk import Node, NodeParameters, NodeUserError
from nodes.sdk.jsonapi import MAX_ITEMS, JsonApi, check_operation, per_item, require

PAGE_SIZE = 100
MAX_BLOCKS = 100  # Notion's limit of children in one request
_OPERATIONS = {"database_page": ("get_all", "create", "get", "update"), "page": ("create", "archive"),
               "block": ("append", "get_all")}
_NEEDS = {("database_page", "get_all"): ("database_id",), ("database_page", "create"): ("database_id",),
          ("database_page", "get"): ("page_id",), ("database_page", "update"): ("page_id",),
          ("page", "create"): ("page_id", "title"), ("page", "archive"): ("page_id",),
          ("block", "append"): ("block_id",), ("block", "get_all"): ("block_id",)}
_ID = re.compile(r"([0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12})(?:[?#].*)?$", re.I)
PropertyType = Literal["title", "rich_text", "number", "checkbox", "select", "multi_select", "status", "date",
                       "url", "email", "phone_number", "people", "relation"]


class PropertyValue(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(..., min_length=1, max_length=200, description="The property's name in the database")
    type: PropertyType = Field(..., description="The property's type")
    value: Any = Field(None, description="Text, number, true/false, a date (2026-12-24), or a list of names "
                                         "or ids (multi_select, people, relation)")


class NotionParameters(NodeParameters):
    resource: Literal["database_page", "page", "block"] = Field("database_page", description="What to work with")
    operation: Literal["get_all", "create", "get", "update", "archive", "append"] = Field(
        "get_all", description="database_page: get_all (query), create, get, update; page: create, archive; "
                               "block: append, get_all")
    database_id: str = Field("", max_length=300, description="The database's id or URL")
    page_id: str = Field("", max_length=300, description="The page's id or URL (page create: the parent page)")
    block_id: str = Field("", max_length=300, description="block: the page or block whose children to use")
    title: str = Field("", max_length=2000, description="create: the new page's title (in a database: its "
                                                        "title property, whatever it is called)")
    property_values: list[PropertyValue] = Field(default_factory=list, max_length=100,
                                                 description="create/update: properties as name, type, value")
    properties: dict[str, Any] = Field(default_factory=dict, description="create/update: properties as "
                                       "Notion's JSON (merged with property_values)")
    archived: bool | None = Field(None, description="database_page update: true archives the page, false "
                                                    "restores it")
    text: str = Field("", max_length=200_000, description="page create/block append: plain text, one "
                                                          "paragraph a line")
    blocks: list[dict] = Field(default_factory=list, max_length=MAX_BLOCKS,
                               description="page create/block append: Notion block objects")
    filter: dict[str, Any] | str | None = Field(None, description="get_all: Notion's filter JSON (an object, "
                                                                  "or its text)")
    sorts: list[dict] = Field(default_factory=list, description="get_all: Notion's sorts JSON")
    return_all: bool = Field(False, description="get_all: every page")
    limit: int = Field(50, ge=1, le=MAX_ITEMS, description="get_all: at most this many items")

    @model_validator(mode="after")
    def _fits(self) -> NotionParameters:
        check_operation(self.resource, self.operation, _OPERATIONS)
        require(self, _NEEDS[(self.resource, self.operation)])
        if self.operation == "append" and not (self.text or self.blocks):
            raise ValueError("block append needs text or blocks")
        return self


class Notion(Node):
    """One Notion API call (or one paged listing) per item."""

    type = "notion"
    display_name = "Notion"
    group = "integration"
    icon = "notebook"
    description = "Query Notion databases, create, read, update and archive pages, append and read blocks."
    Parameters = NotionParameters
    credential_slots = {"notion": ("notion",)}
    side_effects = True

    async def execute(self, ctx, items):
        login = await ctx.credentials("notion")
        async with JsonApi.open(ctx, "Notion", login.get("api_base_url", "https://api.notion.com/v1"),
                                login["headers"]) as api:
            return await per_item(ctx, items, lambda p: _one(api, p))


def notion_id(value: str, what: str) -> str:
    """The id in ``value``: an id with or without dashes, or a Notion URL ending in one."""
    match = _ID.search(value.strip())
    if not match:
        raise NodeUserError(f"{what} {value[:80]!r} is not a Notion id (32 hex digits) or a Notion URL")
    return match.group(1).replace("-", "")


def _rich(text: Any) -> list[dict]:
    return [{"type": "text", "text": {"content": str(text)[i:i + 2000]}} for i in range(0, len(str(text)), 2000)]


def _names(value: Any) -> list[str]:
    if isinstance(value, str):
        return [v.strip() for v in value.split(",") if v.strip()]
    return [str(v) for v in value or []]


def _property(prop: PropertyValue) -> dict:
    v = prop.value
    try:
        match prop.type:
            case "title" | "rich_text":
                return {prop.type: _rich("" if v is None else v)}
            case "number":
                return {"number": None if v in (None, "") else float(v) if "." in str(v) else int(v)}
            case "checkbox":
                return {"checkbox": v if isinstance(v, bool) else str(v).lower() in ("true", "1", "yes")}
            case "select" | "status":
                return {prop.type: {"name": str(v)} if v not in (None, "") else None}
            case "multi_select":
                return {"multi_select": [{"name": n} for n in _names(v)]}
            case "date":
                return {"date": v if isinstance(v, dict) else {"start": str(v)} if v else None}
            case "people" | "relation":
                return {prop.type: [{"id": i} for i in _names(v)]}
            case _:
                return {prop.type: None if v in (None, "") else str(v)}
    except (TypeError, ValueError):
        raise NodeUserError(f"property {prop.name!r} ({prop.type}) cannot take the value {v!r}") from None


def _properties(p: NotionParameters) -> dict:
    return {**p.properties, **{prop.name: _property(prop) for prop in p.property_values}}


def _blocks(p: NotionParameters) -> list[dict]:
    paragraphs = [{"object": "block", "type": "paragraph", "paragraph": {"rich_text": _rich(line)}}
                  for line in p.text.split("\n") if line.strip()] if p.text else []
    blocks = paragraphs + p.blocks
    if len(blocks) > MAX_BLOCKS:
        raise NodeUserError(f"Notion takes at most {MAX_BLOCKS} blocks at once; this is {len(blocks)} "
                            "(split the text over several items)")
    return blocks


async def _one(api: JsonApi, p: NotionParameters) -> list[dict]:
    limit = MAX_ITEMS if p.return_all else p.limit
    if p.resource == "block":
        block = f"/blocks/{notion_id(p.block_id, 'block_id')}/children"
        if p.operation == "append":
            return [{"json": b} for b in (await api.json("PATCH", block, json={"children": _blocks(p)}))
                    .get("results") or []]
        return [{"json": b} for b in await _cursor(api, "GET", block, {}, limit)]
    if p.operation == "get_all":
        body: dict[str, Any] = {"sorts": p.sorts} if p.sorts else {}
        if p.filter:
            body["filter"] = _json_object(p.filter, "filter")
        path = f"/databases/{notion_id(p.database_id, 'database_id')}/query"
        return [{"json": row} for row in await _cursor(api, "POST", path, body, limit)]
    if p.operation == "create":
        if p.resource == "page":
            parent = {"page_id": notion_id(p.page_id, "page_id")}
            properties = {"title": {"title": _rich(p.title)}}
        else:
            parent, properties = {"database_id": notion_id(p.database_id, "database_id")}, _properties(p)
            if p.title:  # the database's title property, whatever it is called
                schema = (await api.json("GET", f"/databases/{parent['database_id']}")).get("properties") or {}
                name = next((n for n, prop in schema.items() if prop.get("type") == "title"), "title")
                properties = {name: {"title": _rich(p.title)}, **properties}
        body = {"parent": parent, "properties": properties}
        if p.text or p.blocks:
            body["children"] = _blocks(p)
        return [{"json": await api.json("POST", "/pages", json=body)}]
    page = f"/pages/{notion_id(p.page_id, 'page_id')}"
    if p.operation == "get":
        return [{"json": await api.json("GET", page)}]
    if p.operation == "archive":
        return [{"json": await api.json("PATCH", page, json={"archived": True})}]
    body = {"properties": _properties(p)}
    if p.archived is not None:
        body["archived"] = p.archived
    return [{"json": await api.json("PATCH", page, json=body)}]


def _json_object(value: dict | str, name: str) -> dict:
    if isinstance(value, dict):
        return value
    try:
        parsed = json.loads(value)
    except ValueError as exc:
        raise NodeUserError(f"{name} is not valid JSON: {exc}") from None
    if not isinstance(parsed, dict):
        raise NodeUserError(f"{name} must be a JSON object")
    return parsed


async def _cursor(api: JsonApi, method: str, path: str, body: dict, limit: int) -> list:
    found: list = []
    cursor = ""
    while len(found) < limit:
        paging: dict[str, Any] = {"page_size": min(PAGE_SIZE, limit - len(found))}
        if cursor:
            paging["start_cursor"] = cursor
        page = await (api.json("POST", path, json={**body, **paging}) if method == "POST"
                      else api.json("GET", path, params=paging))
        found += page.get("results") or []
        cursor = page.get("next_cursor") or ""
        if not cursor or not page.get("has_more"):
            break
    return found[:limit]
