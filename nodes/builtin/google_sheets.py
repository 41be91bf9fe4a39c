"""The Google Sheets node: read rows, append rows, update a range (Sheets API v4 ``spreadsheets.values``).

Shaped like n8n's Google Sheets node (resource ``sheet``), with the ``google_sheets`` credential (a service
account, whose access token is fetched before the calls, or an API key, which Google allows for reading
public sheets only):

* ``read``: the values of ``range`` (``Sheet1``, ``Sheet1!A1:D50``); with ``header_row`` (the default) the first
  row names the columns and each further row is one item ``{column: value}``, as in n8n; otherwise one item
  ``{"values": [...]}`` per row;
* ``append``: one row per input item after the last row of the table in ``range``; the columns are the sheet's
  header row (its first row; fields it does not name are left out) filled from the item's fields
  (``fields_from_input``) and ``fields`` (column -> value), else ``values`` (a list of cells, or of rows);
* ``update``: ``values`` (rows of cells) written at ``range``.

``value_input_option`` USER_ENTERED parses numbers, dates and formulas as typed in the UI; RAW stores text as
is. Errors name Google's status and message (``Google Sheets refused GET .../values/Sheet9 (400):
INVALID_ARGUMENT: Unable to parse range: Sheet9``); a 429 is waited out as ``Retry-After`` says (2 s when it
is absent), up to 30 s and 3 tries, then reported as transient.
"""

from __future__ import annotations

import json
from typing import Any, Literal
from urllib.parse import quote

import httpx
from pydantic import Field, model_validator

from nodes.sdk import Node, NodeParameters, NodeTransientError, NodeUserError
from nodes.sdk.jsonapi import JsonApi, api_message

MAX_ROWS = 100_000


class GoogleSheetsParameters(NodeParameters):
    resource: Literal["sheet"] = Field("sheet", description="What to work with")
    operation: Literal["read", "append", "update"] = Field("read", description="read, append or update")
    spreadsheet_id: str = Field(..., min_length=10, max_length=300,
                                description="The spreadsheet's id (from its URL: /spreadsheets/d/ID/) or URL")
    range: str = Field("Sheet1", min_length=1, max_length=300, description="A1 range: Sheet1, Sheet1!A1:D50")
    header_row: bool = Field(True, description="read: the first row names the columns")
    fields_from_input: bool = Field(True, description="append: the item's fields, by the sheet's header row")
    fields: dict[str, Any] = Field(default_factory=dict, description="append: column name -> value, by the "
                                                                     "sheet's header row (over the item's fields)")
    values: list[Any] = Field(default_factory=list, max_length=MAX_ROWS,
                              description="append/update: a list of cells (one row) or of rows")
    value_input_option: Literal["USER_ENTERED", "RAW"] = Field(
        "USER_ENTERED", description="append/update: USER_ENTERED parses like the UI does, RAW stores as is")

    @model_validator(mode="after")
    def _fits(self) -> GoogleSheetsParameters:
        if self.operation == "update" and not self.values:
            raise ValueError("sheet update needs values")
        if self.operation == "append" and not (self.fields_from_input or self.fields or self.values):
            raise ValueError("sheet append needs values, fields or fields_from_input")
        return self


class GoogleSheets(Node):
    """Reads a range once per item, appends one row per item, or writes a range per item."""

    type = "google_sheets"
    display_name = "Google Sheets"
    group = "integration"
    icon = "sheet"
    description = "Read rows from a Google Sheet, append rows, update a range."
    Parameters = GoogleSheetsParameters
    credential_slots = {"google_sheets": ("google_sheets",)}
    side_effects = True

    async def execute(self, ctx, items):
        login = await ctx.credentials("google_sheets")
        async with JsonApi.open(ctx, "Google Sheets", login.get("api_base_url", "https://sheets.googleapis.com/v4"),
                                login.get("headers") or {}, default_wait_s=2) as api:
            api.query = dict(login.get("query") or {})
            if login.get("token_request"):
                api.client.headers["Authorization"] = "Bearer " + await _access_token(api, login["token_request"])
            out: list[dict] = []
            headers: dict[tuple[str, str], list] = {}
            for index, item in enumerate(items):
                try:
                    out += await _one(api, ctx.params(index), item.get("json") or {}, headers)
                except (NodeUserError, NodeTransientError) as exc:
                    exc.item_index = index
                    raise
            return out


async def _access_token(api: JsonApi, token_request: dict) -> str:
    """The service account's access token from its ``token_uri`` (another host than the API's)."""
    try:
        response = await api.client.post(token_request["url"], data=token_request["form"])
    except httpx.TransportError as exc:
        raise NodeTransientError(f"Google's token endpoint: {type(exc).__name__}: {exc}") from None
    if response.status_code >= 500:
        raise NodeTransientError(f"Google's token endpoint answered {response.status_code}")
    try:
        token = response.json().get("access_token") if response.status_code == 200 else None
    except (ValueError, AttributeError):
        token = None
    if not token:
        raise NodeUserError(f"Google's token endpoint refused the service account ({response.status_code}): "
                            f"{api_message(response) or 'no access token'}; check the key")
    return str(token)


def _spreadsheet(value: str) -> str:
    value = value.strip()
    if "/spreadsheets/d/" in value:
        value = value.split("/spreadsheets/d/", 1)[1].split("/", 1)[0]
    return quote(value, safe="")


def _rows(values: list) -> list[list]:
    return values if values and all(isinstance(v, list) for v in values) else [values]


async def _one(api: JsonApi, p: GoogleSheetsParameters, data: dict, headers: dict) -> list[dict]:
    sheet = _spreadsheet(p.spreadsheet_id)
    values_path = f"/spreadsheets/{sheet}/values/{quote(p.range, safe='')}"
    if p.operation == "read":
        rows = (await api.json("GET", values_path)).get("values") or []
        if not p.header_row:
            return [{"json": {"values": row}} for row in rows]
        if not rows:
            return []
        names = [str(n) for n in rows[0]]
        first = _first_row(p.range)
        return [{"json": {**{name: (row[i] if i < len(row) else "") for i, name in enumerate(names)},
                          "row_number": first + n}} for n, row in enumerate(rows[1:], start=1)]
    option = {"valueInputOption": p.value_input_option}
    if p.operation == "update":
        return [{"json": await api.json("PUT", values_path, params=option,
                                        json={"range": p.range, "majorDimension": "ROWS", "values": _rows(p.values)})}]
    if p.fields_from_input or p.fields:
        key = (sheet, p.range.split("!")[0])
        if key not in headers:
            header_path = f"/spreadsheets/{sheet}/values/{quote(key[1] + '!1:1', safe='')}"
            headers[key] = ((await api.json("GET", header_path)).get("values") or [[]])[0]
        if not headers[key]:
            raise NodeUserError(f"the sheet {key[1]!r} has no header row (its first row names the columns); "
                                "add one, or give values")
        source = {**(data if p.fields_from_input else {}), **p.fields}
        rows = [[_cell(source.get(str(name), "")) for name in headers[key]]]
    else:
        rows = _rows(p.values)
    answer = await api.json("POST", values_path + ":append", params={**option, "insertDataOption": "INSERT_ROWS"},
                            json={"majorDimension": "ROWS", "values": rows})
    return [{"json": answer}]


def _first_row(a1: str) -> int:
    """The sheet row where ``a1`` starts (``Sheet1!B3:D9`` -> 3; a whole sheet or columns -> 1)."""
    cells = a1.rsplit("!", 1)[1] if "!" in a1 else ""
    digits = "".join(ch for ch in cells.split(":")[0] if ch.isdigit())
    return int(digits) if digits else 1


def _cell(value: Any) -> Any:
    if value is None or isinstance(value, (str, int, float, bool)):
        return "" if value is None else value
    return json.dumps(value, ensure_ascii=False)
