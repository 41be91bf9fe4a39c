"""The Airtable node: list, search, get, create, update and delete records.

Shaped like n8n's Airtable node (resource ``record`` + ``operation``), calling Airtable's Web API with the
``airtable`` credential's personal access token:

* ``list`` (a ``table``'s records, optionally through a ``view``, sorted by ``sort``, only ``output_fields``)
  and ``search`` (the same, filtered by the ``filter_by_formula`` formula, e.g. ``{Status} = 'Todo'``);
* ``get``, ``update`` (``fields`` merged into the record) and ``delete`` by ``record_id``;
* ``create`` (one record from ``fields``, or from the input item's own fields with ``fields_from_input``).

``typecast`` lets Airtable convert text into select options, dates... Each record is one output item,
``{id, createdTime, fields}`` as Airtable answers it, or ``{id, createdTime, ...fields}`` with ``simplify``
(n8n's v2 shape). Listings follow Airtable's ``offset``, 100 a page, up to ``limit`` (``return_all``: every
page, at most 10,000). Errors name Airtable's type and message (``Airtable refused POST /v0/app.../Tasks (422):
UNKNOWN_FIELD_NAME: Unknown field name: "Size"``). A 429 is waited out for ``Retry-After`` seconds, or the
30 seconds Airtable documents when it sends none, up to 3 tries, then reported as transient.
"""

from __future__ import annotations

from typing import Any, Literal
from urllib.parse import quote

from pydantic import BaseModel, ConfigDict, Field, model_validator

from nodes.sdk import Node, NodeParameters, NodeTransientError, NodeUserError
from nodes.sdk.jsonapi import MAX_ITEMS, JsonApi, require

PAGE_SIZE = 100
RATE_LIMIT_WAIT_S = 30  # "wait 30 seconds before subsequent requests will succeed" (Airtable's docs)
_NEEDS = {"search": ("filter_by_formula",), "get": ("record_id",), "update": ("record_id",),
          "delete": ("record_id",)}


class SortField(BaseModel):
    model_config = ConfigDict(extra="forbid")

    field: str = Field(..., min_length=1, max_length=200, description="Field name")
    direction: Literal["asc", "desc"] = Field("asc", description="asc or desc")


class AirtableParameters(NodeParameters):
    resource: Literal["record"] = Field("record", description="What to work with")
    operation: Literal["list", "search", "get", "create", "update", "delete"] = Field(
        "list", description="list, search (by formula), get, create, update, delete")
    base_id: str = Field(..., min_length=3, max_length=100, description="The base's id (app...)")
    table: str = Field(..., min_length=1, max_length=300, description="The table's id (tbl...) or name")
    record_id: str = Field("", max_length=100, description="get/update/delete: the record's id (rec...)")
    fields: dict[str, Any] = Field(default_factory=dict, description="create/update: field name -> value")
    fields_from_input: bool = Field(False, description="create/update: send the input item's fields "
                                                       "(other than id and createdTime), merged with fields")
    typecast: bool = Field(False, description="create/update: let Airtable convert values to the field types")
    filter_by_formula: str = Field("", max_length=10_000, description="list/search: a formula; records for "
                                                                       "which it is true")
    view: str = Field("", max_length=300, description="list/search: the view's name or id")
    sort: list[SortField] = Field(default_factory=list, max_length=20, description="list/search: sort order")
    output_fields: list[str] = Field(default_factory=list, max_length=500,
                                     description="list/search: only these fields (all when empty)")
    simplify: bool = Field(False, description="Output {id, createdTime, ...fields} instead of Airtable's "
                                              "{id, createdTime, fields}")
    return_all: bool = Field(False, description="list/search: every page")
    limit: int = Field(50, ge=1, le=MAX_ITEMS, description="list/search: at most this many records")

    @model_validator(mode="after")
    def _fits(self) -> AirtableParameters:
        require(self, _NEEDS.get(self.operation, ()))
        return self


class Airtable(Node):
    """One Airtable call (or one paged listing) per item."""

    type = "airtable"
    display_name = "Airtable"
    group = "integration"
    icon = "table-2"
    description = "List, search, get, create, update and delete Airtable records."
    Parameters = AirtableParameters
    credential_slots = {"airtable": ("airtable",)}
    side_effects = True

    async def execute(self, ctx, items):
        login = await ctx.credentials("airtable")
        out: list[dict] = []
        async with JsonApi.open(ctx, "Airtable", login.get("api_base_url", "https://api.airtable.com/v0"),
                                login["headers"], default_wait_s=RATE_LIMIT_WAIT_S) as api:
            for index, item in enumerate(items):
                try:
                    out += await _one(api, ctx.params(index), item.get("json") or {})
                except (NodeUserError, NodeTransientError) as exc:
                    exc.item_index = index
                    raise
        return out


def _shaped(record: dict, simplify: bool) -> dict:
    if not simplify:
        return record
    return {"id": record.get("id"), "createdTime": record.get("createdTime"), **(record.get("fields") or {})}


async def _one(api: JsonApi, p: AirtableParameters, data: dict) -> list[dict]:
    table = f"/{quote(p.base_id, safe='')}/{quote(p.table, safe='')}"
    record = f"{table}/{quote(p.record_id, safe='')}"
    if p.operation in ("list", "search"):
        query: dict[str, Any] = {}
        if p.filter_by_formula:
            query["filterByFormula"] = p.filter_by_formula
        if p.view:
            query["view"] = p.view
        for n, s in enumerate(p.sort):
            query[f"sort[{n}][field]"], query[f"sort[{n}][direction]"] = s.field, s.direction
        if p.output_fields:
            query["fields[]"] = p.output_fields
        records = await _offset_pages(api, table, query, MAX_ITEMS if p.return_all else p.limit)
        return [{"json": _shaped(r, p.simplify)} for r in records]
    if p.operation == "get":
        return [{"json": _shaped(await api.json("GET", record), p.simplify)}]
    if p.operation == "delete":
        return [{"json": await api.json("DELETE", record)}]
    fields = {k: v for k, v in data.items() if k not in ("id", "createdTime")} if p.fields_from_input else {}
    fields.update(p.fields)
    if not fields:
        raise NodeUserError(f"record {p.operation} needs fields (or fields_from_input with an input item that "
                            "has fields)")
    body: dict[str, Any] = {"typecast": True} if p.typecast else {}
    if p.operation == "create":
        answer = await api.json("POST", table, json={"records": [{"fields": fields}], **body})
        return [{"json": _shaped(r, p.simplify)} for r in answer.get("records") or []]
    return [{"json": _shaped(await api.json("PATCH", record, json={"fields": fields, **body}), p.simplify)}]


async def _offset_pages(api: JsonApi, path: str, query: dict, limit: int) -> list:
    found: list = []
    offset = ""
    while len(found) < limit:
        page = await api.json("GET", path, params={**query, "pageSize": min(PAGE_SIZE, limit - len(found)),
                                                   **({"offset": offset} if offset else {})})
        found += page.get("records") or []
        offset = page.get("offset") or ""
        if not offset:
            break
    return found[:limit]
