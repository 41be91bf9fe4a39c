"""A stand-in for Airtable's Web API on 127.0.0.1, for tests (api.airtable.com cannot be reached from here).

Follows the Airtable Web API docs (https://airtable.com/developers/web/api, v0, 2024-2025):
``GET /v0/meta/whoami``; ``GET /v0/{baseId}/{table}`` (``pageSize`` <= 100, ``offset``, ``filterByFormula``,
``view``, ``fields[]``, ``sort[n][field|direction]`` -> ``{"records": [{"id", "createdTime", "fields"}],
"offset"}``); ``POST /v0/{baseId}/{table}`` (``{"records": [{"fields"}], "typecast"}``, at most 10);
``GET|PATCH|DELETE /v0/{baseId}/{table}/{recordId}``. A table is known by its name or id. Errors are
``{"error": {"type", "message"}}``: 401 ``AUTHENTICATION_REQUIRED`` for a token other than ``TOKEN``, 403
``INVALID_PERMISSIONS_OR_MODEL_NOT_FOUND`` for another base or table, 422 ``UNKNOWN_FIELD_NAME`` and
``INVALID_FILTER_BY_FORMULA``, 404 ``NOT_FOUND`` for a record. Rate limits as documented: 429 with no
``Retry-After`` ("wait 30 seconds"); table ``Busy`` answers each (method, path) once with it. The formulas
understood are ``{Field} = 'value'`` and ``AND()``-free ``{Field} != 'value'``.
"""

from __future__ import annotations

import re
from urllib.parse import unquote

from tests.fakes.http_fake import FakeApi, Request

TOKEN = "patTEST.0123456789abcdef"
BASE = "appTEST123456789"
TABLES = {"tblTasks00000001": "Tasks", "tblBusy000000001": "Busy"}
FIELDS = {"Name", "Status", "Points", "Notes"}
_FORMULA = re.compile(r"\{([^}]+)\}\s*(=|!=)\s*'([^']*)'")


def _error(status: int, type_: str, message: str):
    return status, {}, {"error": {"type": type_, "message": message}}


class FakeAirtable(FakeApi):
    def __init__(self) -> None:
        super().__init__()
        self.records: list[dict] = []
        self._next = 0

    @property
    def url(self) -> str:
        return self.origin + "/v0"

    def seed(self, count: int, status: str = "Todo") -> None:
        for n in range(count):
            self._create({"Name": f"Task {n + 1}", "Status": status, "Points": n})

    def _create(self, fields: dict) -> dict:
        self._next += 1
        record = {"id": f"rec{self._next:014d}", "createdTime": "2026-01-15T12:00:00.000Z", "fields": fields}
        self.records.append(record)
        return record

    def answer(self, request: Request):
        method, path, query, body = request.method, request.path, request.query, request.data()
        if request.headers.get("authorization") != f"Bearer {TOKEN}":
            return _error(401, "AUTHENTICATION_REQUIRED", "Authentication required")
        if path == "/v0/meta/whoami":
            return 200, {}, {"id": "usrTEST", "scopes": ["data.records:read", "data.records:write"]}
        match = re.fullmatch(r"/v0/([^/]+)/([^/]+)(?:/(rec\w+))?", path)
        table = unquote(match.group(2)) if match else ""
        if not match or match.group(1) != BASE or (table not in TABLES and table not in TABLES.values()):
            return _error(403, "INVALID_PERMISSIONS_OR_MODEL_NOT_FOUND", "Invalid permissions, or the requested "
                          "model was not found. Check that both your user and your token have the required "
                          "permissions, and that the model names and/or ids are correct.")
        if TABLES.get(table, table) == "Busy" and self.once(method, path):
            return 429, {}, {"errors": [{"error": "RATE_LIMIT_REACHED",
                                         "message": "Rate limit exceeded. Please try again later"}]}
        record_id = match.group(3)
        if record_id is None and method == "GET":
            return self._list(query)
        if record_id is None and method == "POST":
            records = (body or {}).get("records") or []
            if not 0 < len(records) <= 10:
                return _error(422, "INVALID_RECORDS", "You must provide an array of up to 10 record objects")
            for record in records:
                unknown = set(record.get("fields") or {}) - FIELDS
                if unknown:
                    return _error(422, "UNKNOWN_FIELD_NAME", f'Unknown field name: "{sorted(unknown)[0]}"')
            return 200, {}, {"records": [self._create(r.get("fields") or {}) for r in records]}
        found = [r for r in self.records if r["id"] == record_id]
        if not found:
            return 404, {}, {"error": "NOT_FOUND"}
        record = found[0]
        if method == "PATCH":
            unknown = set((body or {}).get("fields") or {}) - FIELDS
            if unknown:
                return _error(422, "UNKNOWN_FIELD_NAME", f'Unknown field name: "{sorted(unknown)[0]}"')
            record["fields"].update(body["fields"])
        if method == "DELETE":
            self.records.remove(record)
            return 200, {}, {"id": record_id, "deleted": True}
        return 200, {}, record

    def _list(self, query: dict):
        records = self.records
        formula = query.get("filterByFormula")
        if formula:
            match = _FORMULA.fullmatch(formula.strip())
            if not match:
                return _error(422, "INVALID_FILTER_BY_FORMULA", "The formula for filtering records is invalid: "
                              f"Invalid formula. Please check your formula text. ({formula})")
            name, op, value = match.groups()
            records = [r for r in records if (str(r["fields"].get(name, "")) == value) == (op == "=")]
        start = int(query.get("offset", "0").removeprefix("itr") or 0)
        size = min(int(query.get("pageSize") or 100), 100)
        end = start + size
        answer = {"records": records[start:end]}
        if end < len(records):
            answer["offset"] = f"itr{end}"
        return 200, {}, answer
