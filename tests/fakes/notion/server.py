"""A stand-in for Notion's public API on 127.0.0.1, for tests (api.notion.com cannot be reached from here).

Follows Notion's API reference for ``Notion-Version: 2022-06-28`` (https://developers.notion.com/reference):
``GET /v1/users/me``; ``GET /v1/databases/{id}`` (its properties); ``POST /v1/databases/{id}/query`` (``filter``, ``sorts``, ``start_cursor``,
``page_size`` <= 100 -> ``{"object": "list", "results", "next_cursor", "has_more"}``); ``POST /v1/pages``
(``parent`` ``database_id`` or ``page_id``, ``properties``, ``children``); ``GET|PATCH /v1/pages/{id}``;
``GET|PATCH /v1/blocks/{id}/children`` (cursor-paged; PATCH appends ``children``). Errors are
``{"object": "error", "status", "code", "message"}``: 401 ``unauthorized`` for a token other than ``TOKEN``,
400 ``missing_version`` without the version header, 400 ``validation_error`` for a property the database does
not have, 404 ``object_not_found``. Database ``BUSY_DB`` answers each (method, path) once with 429
``rate_limited`` and ``Retry-After: 1``. The filter understood is ``{"property": "Status", "select":
{"equals": NAME}}``.
"""

from __future__ import annotations

import re
import uuid

from tests.fakes.http_fake import FakeApi, Request

TOKEN = "secret_notion_test_token"
DB = "0f1e2d3c4b5a69788796a5b4c3d2e1f0"
BUSY_DB = "b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0"
SCHEMA = {"Name": "title", "Status": "select", "Tags": "multi_select", "Points": "number", "Done": "checkbox",
          "Due": "date", "Notes": "rich_text", "Link": "url"}
_ID = r"([0-9a-f]{32}|[0-9a-f-]{36})"


def _error(status: int, code: str, message: str):
    return status, {}, {"object": "error", "status": status, "code": code, "message": message}


def _norm(value: str) -> str:
    return value.replace("-", "")


class FakeNotion(FakeApi):
    def __init__(self) -> None:
        super().__init__()
        self.pages: dict[str, dict] = {}
        self.children: dict[str, list[dict]] = {}

    @property
    def url(self) -> str:
        return self.origin + "/v1"

    def seed(self, count: int, status: str = "Open") -> None:
        for n in range(count):
            self._page({"database_id": DB}, {"Name": {"title": [{"text": {"content": f"Row {n + 1}"}}]},
                                             "Status": {"select": {"name": status}}})

    def _page(self, parent: dict, properties: dict) -> dict:
        page_id = str(uuid.uuid4())
        kind = "database_id" if "database_id" in parent else "page_id"
        page = {"object": "page", "id": page_id, "archived": False,
                "parent": {"type": kind, kind: parent[kind]}, "properties": properties,
                "url": f"https://www.notion.so/{_norm(page_id)}"}
        self.pages[_norm(page_id)] = page
        self.children[_norm(page_id)] = []
        return page

    def answer(self, request: Request):
        method, path, query, body = request.method, request.path, request.query, request.data()
        if request.headers.get("authorization") != f"Bearer {TOKEN}":
            return _error(401, "unauthorized", "API token is invalid.")
        if request.headers.get("notion-version") != "2022-06-28":
            return _error(400, "missing_version", "Notion-Version header failed validation: Notion-Version "
                                                  "header should be defined, instead was `undefined`.")
        if BUSY_DB in path and self.once(method, path):
            return 429, {"Retry-After": "1"}, {"object": "error", "status": 429, "code": "rate_limited",
                                               "message": "You have been rate limited. Please try again in a "
                                                          "few minutes."}
        body = body or {}
        if path == "/v1/users/me":
            return 200, {}, {"object": "user", "id": "u-bot", "type": "bot", "name": "LinkFlow",
                             "bot": {"workspace_name": "Acme"}}
        if (match := re.fullmatch(rf"/v1/databases/{_ID}", path)) and _norm(match.group(1)) == DB:
            return 200, {}, {"object": "database", "id": DB, "title": [{"plain_text": "Tasks"}],
                             "properties": {name: {"id": name[:4], "name": name, "type": kind, kind: {}}
                                            for name, kind in SCHEMA.items()}}
        if match := re.fullmatch(rf"/v1/databases/{_ID}/query", path):
            if _norm(match.group(1)) not in (DB, BUSY_DB):
                return _error(404, "object_not_found", f"Could not find database with ID: {match.group(1)}. "
                              "Make sure the relevant pages and databases are shared with your integration.")
            rows = [p for p in self.pages.values() if p["parent"].get("database_id") == DB and not p["archived"]]
            wanted = ((body.get("filter") or {}).get("select") or {}).get("equals")
            if wanted is not None:
                rows = [p for p in rows if (p["properties"].get("Status") or {}).get("select", {}).get("name")
                        == wanted]
            return self._list(rows, body)
        if path == "/v1/pages" and method == "POST":
            parent = body.get("parent") or {}
            if "database_id" in parent:
                unknown = [name for name in body.get("properties") or {} if name not in SCHEMA]
                if unknown:
                    return _error(400, "validation_error", f"{unknown[0]} is not a property that exists.")
                parent = {"database_id": _norm(parent["database_id"])}
            page = self._page(parent, body.get("properties") or {})
            self.children[_norm(page["id"])] = list(body.get("children") or [])
            return 200, {}, page
        if match := re.fullmatch(rf"/v1/pages/{_ID}", path):
            page = self.pages.get(_norm(match.group(1)))
            if page is None:
                return _error(404, "object_not_found", f"Could not find page with ID: {match.group(1)}. Make "
                              "sure the relevant pages and databases are shared with your integration.")
            if method == "PATCH":
                page["properties"].update(body.get("properties") or {})
                if "archived" in body:
                    page["archived"] = bool(body["archived"])
            return 200, {}, page
        if match := re.fullmatch(rf"/v1/blocks/{_ID}/children", path):
            key = _norm(match.group(1))
            if key not in self.children:
                return _error(404, "object_not_found", f"Could not find block with ID: {match.group(1)}.")
            if method == "PATCH":
                added = [{"object": "block", "id": str(uuid.uuid4()), **b} for b in body.get("children") or []]
                self.children[key] += added
                return 200, {}, {"object": "list", "results": added, "next_cursor": None, "has_more": False}
            return self._list([{"object": "block", **b} for b in self.children[key]], query)
        return _error(400, "invalid_request_url", "Invalid request URL.")

    @staticmethod
    def _list(items: list, paging: dict):
        start = int(paging.get("start_cursor") or 0)
        size = min(int(paging.get("page_size") or 100), 100)
        end = start + size
        more = end < len(items)
        return 200, {}, {"object": "list", "results": items[start:end], "next_cursor": str(end) if more else None,
                         "has_more": more, "type": "page_or_database", "page_or_database": {}}
