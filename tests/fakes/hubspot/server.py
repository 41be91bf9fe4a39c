"""A stand-in for HubSpot's CRM API v3 (contacts) on 127.0.0.1, for tests (HubSpot cannot be reached from here).

It answers as https://developers.hubspot.com/docs/api/crm/contacts and .../crm/search document it (CRM v3):
``POST /crm/v3/objects/contacts`` ``{"properties": {...}}`` -> 201 the object; a second contact with the same email
-> 409 ``{"status": "error", "message": "Contact already exists. Existing ID: N", "category": "CONFLICT", ...}``;
``GET``/``PATCH /crm/v3/objects/contacts/{id}`` (``idProperty=email``) -> the object or 404 ``OBJECT_NOT_FOUND``;
``GET /crm/v3/objects/contacts?limit=&after=`` and ``POST .../search`` (``filterGroups``, ``query``, ``limit`` up to
200, ``after``) -> ``{"results": [...], "paging": {"next": {"after": "N", "link": ...}}}`` (search adds
``total``). A token other than ``TOKEN`` gets 401 ``INVALID_AUTHENTICATION``. A search for ``query: "busy"``
answers 429 ``{"status": "error", "message": "You have reached your secondly limit.", "errorType": "RATE_LIMIT",
"policyName": "SECONDLY"}`` with ``Retry-After: 1`` once.
"""

from __future__ import annotations

from tests.fakes.http_fake import FakeApi, Request

TOKEN = "pat-na1-test"
PATH = "/crm/v3/objects/contacts"
_DEFAULT = ("email", "firstname", "lastname", "createdate", "lastmodifieddate", "hs_object_id")


def _error(message: str, category: str) -> dict:
    return {"status": "error", "message": message, "correlationId": "00000000-0000-0000-0000-000000000000",
            "category": category}


class FakeHubSpot(FakeApi):
    def __init__(self, seed: int = 0) -> None:
        super().__init__()
        self.contacts: dict[str, dict] = {}
        self._limited = False
        for n in range(1, seed + 1):
            self._create({"email": f"user{n}@example.com", "firstname": f"User{n}",
                          "lifecyclestage": "lead" if n % 2 else "customer"})

    def _create(self, properties: dict) -> dict:
        contact_id = str(500 + len(self.contacts) + 1)
        stamp = "2026-01-15T12:00:00.000Z"
        contact = {"id": contact_id, "properties": {**properties, "hs_object_id": contact_id, "createdate": stamp,
                                                    "lastmodifieddate": stamp},
                   "createdAt": stamp, "updatedAt": stamp, "archived": False}
        self.contacts[contact_id] = contact
        return contact

    @staticmethod
    def _shown(contact: dict, names: list[str] | None) -> dict:
        keep = names or _DEFAULT
        return {**contact, "properties": {k: v for k, v in contact["properties"].items() if k in keep}}

    def answer(self, request: Request):
        if request.headers.get("authorization") != f"Bearer {TOKEN}":
            return 401, {}, {**_error("Authentication credentials not found.", "INVALID_AUTHENTICATION")}
        if not request.path.startswith(PATH):
            return 404, {}, _error("not found", "OBJECT_NOT_FOUND")
        rest = request.path.removeprefix(PATH).strip("/")
        if rest == "search" and request.method == "POST":
            return self._search(request.json() or {})
        if not rest:
            if request.method == "POST":
                properties = (request.json() or {}).get("properties") or {}
                email = properties.get("email")
                existing = next((c for c in self.contacts.values() if email and c["properties"].get("email") == email),
                                None)
                if existing:
                    return 409, {}, _error(f"Contact already exists. Existing ID: {existing['id']}", "CONFLICT")
                return 201, {}, self._create(properties)
            names = request.query.get("properties", "").split(",") if request.query.get("properties") else None
            if int(request.query.get("limit", "10")) > 100:
                return 400, {}, _error("limit must be at most 100", "VALIDATION_ERROR")
            return 200, {}, self._page(list(self.contacts.values()), request.query.get("after"),
                                       int(request.query.get("limit", "10")), names)
        if request.query.get("idProperty") == "email":
            contact = next((c for c in self.contacts.values() if c["properties"].get("email") == rest), None)
        else:
            contact = self.contacts.get(rest)
        if contact is None:
            return 404, {}, _error("Object not found.  objectId are usually numeric.", "OBJECT_NOT_FOUND")
        if request.method == "PATCH":
            contact["properties"].update((request.json() or {}).get("properties") or {})
            contact["updatedAt"] = "2026-01-15T13:00:00.000Z"
            return 200, {}, self._shown(contact, None)
        names = request.query.get("properties", "").split(",") if request.query.get("properties") else None
        return 200, {}, self._shown(contact, names)

    def _page(self, rows: list, after: str | None, limit: int, names) -> dict:
        start = int(after or 0)
        chunk = rows[start:start + limit]
        page = {"results": [self._shown(c, names) for c in chunk]}
        if start + limit < len(rows):
            page["paging"] = {"next": {"after": str(start + limit), "link": f"{PATH}?after={start + limit}"}}
        return page

    def _search(self, body: dict):
        if body.get("query") == "busy" and not self._limited:
            self._limited = True
            return 429, {"Retry-After": "1"}, {"status": "error", "message": "You have reached your secondly limit.",
                                               "errorType": "RATE_LIMIT", "policyName": "SECONDLY",
                                               "correlationId": "0"}
        limit = int(body.get("limit", 10))
        if limit > 200:
            return 400, {}, _error("Invalid input JSON on line 1: limit must be at most 200", "VALIDATION_ERROR")
        rows = list(self.contacts.values())
        for group in body.get("filterGroups") or []:
            for f in group.get("filters") or []:
                if f.get("operator") not in ("EQ", "NEQ", "HAS_PROPERTY", "CONTAINS_TOKEN"):
                    return 400, {}, _error(f"fake supports EQ, NEQ, HAS_PROPERTY, CONTAINS_TOKEN, not "
                                           f"{f.get('operator')}", "VALIDATION_ERROR")
                rows = [c for c in rows if _matches(c["properties"], f)]
        if body.get("query") and body["query"] != "busy":
            rows = [c for c in rows if any(body["query"] in str(v) for v in c["properties"].values())]
        page = self._page(rows, body.get("after"), limit, body.get("properties"))
        return 200, {}, {"total": len(rows), **page}


def _matches(properties: dict, f: dict) -> bool:
    name, value, operator = f.get("propertyName"), f.get("value"), f["operator"]
    if operator == "HAS_PROPERTY":
        return name in properties
    if operator == "CONTAINS_TOKEN":
        return str(value).strip("*") in str(properties.get(name, ""))
    return (properties.get(name) == value) == (operator == "EQ")
