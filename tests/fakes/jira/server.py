"""A stand-in for the Jira REST API on 127.0.0.1, for tests (Atlassian's cloud cannot be reached from here).

Follows the Jira Cloud platform REST API v3 docs (https://developer.atlassian.com/cloud/jira/platform/rest/v3/,
as of 2025, after the move to ``/search/jql``): ``GET /rest/api/3/myself``; ``POST /rest/api/3/issue``
(``{"fields": {"project": {"key"|"id"}, "issuetype": {"name"|"id"}, "summary", "description": ADF...}}`` -> 201
``{"id", "key", "self"}``); ``GET|PUT|DELETE /rest/api/3/issue/{key}`` (PUT and DELETE answer 204);
``GET|POST /rest/api/3/issue/{key}/transitions``; ``GET|POST /rest/api/3/issue/{key}/comment`` (comments
paged by ``startAt``/``maxResults`` with ``total``); ``POST /rest/api/3/search/jql`` (paged by
``nextPageToken``, ``isLast``). Also the Data Center v2 shapes the node uses there: ``/rest/api/2/...`` with
plain-text descriptions and ``POST /rest/api/2/search`` paged by ``startAt``/``total``.
Authentication: Basic ``EMAIL:TOKEN`` (Cloud) or ``Bearer TOKEN`` (a Data Center personal access token);
otherwise 401. Errors are ``{"errorMessages": [...], "errors": {field: message}}``. Any path with ``BUSY``
answers once with 429, ``Retry-After: 1`` and ``X-RateLimit-*`` headers. The JQL understood is
``project = KEY`` and ``project = KEY AND status = "Name"``; anything else is "Error in the JQL Query".
"""

from __future__ import annotations

import base64
import re

from tests.fakes.http_fake import FakeApi, Request

EMAIL, TOKEN = "ada@example.com", "jira-api-token"
PROJECTS = {"OPS", "WEB", "BUSY"}
PROJECT_IDS = {"10000": "OPS", "10001": "WEB"}
TRANSITIONS = [{"id": "11", "name": "To Do", "to": {"name": "To Do"}},
               {"id": "21", "name": "In Progress", "to": {"name": "In Progress"}},
               {"id": "31", "name": "Done", "to": {"name": "Done"}}]
_JQL = re.compile(r'project\s*=\s*"?(\w+)"?(?:\s+AND\s+status\s*=\s*"([^"]+)")?(?:\s+ORDER BY .*)?', re.I)


class FakeJira(FakeApi):
    def __init__(self) -> None:
        super().__init__()
        self.issues: dict[str, dict] = {}
        self.comments: dict[str, list[dict]] = {}

    def seed(self, project: str, count: int) -> None:
        for n in range(count):
            self._create({"project": {"key": project}, "issuetype": {"name": "Task"}, "summary": f"Task {n + 1}"})

    def _create(self, fields: dict) -> dict:
        project = fields["project"].get("key") or PROJECT_IDS[fields["project"]["id"]]
        key = f"{project}-{sum(1 for k in self.issues if k.startswith(project + '-')) + 1}"
        self.issues[key] = {"id": str(10000 + len(self.issues)), "key": key,
                            "self": f"{self.origin}/rest/api/3/issue/{key}",
                            "fields": {**fields, "status": {"name": "To Do"}}}
        return {"id": self.issues[key]["id"], "key": key, "self": self.issues[key]["self"]}

    def answer(self, request: Request):
        method, path, query, body = request.method, request.path, request.query, request.data()
        basic = "Basic " + base64.b64encode(f"{EMAIL}:{TOKEN}".encode()).decode()
        if request.headers.get("authorization") not in (basic, f"Bearer {TOKEN}"):
            return 401, {}, {"errorMessages": ["Client must be authenticated to access this resource."],
                             "errors": {}}
        if "BUSY" in path and self.once(method, path):
            return 429, {"Retry-After": "1", "X-RateLimit-Limit": "100", "X-RateLimit-Remaining": "0",
                         "RateLimit-Reason": "jira-quota-tenant-based"}, None
        match = re.fullmatch(r"/rest/api/([23])(/.*)", path)
        if not match:
            return 404, {}, {"errorMessages": ["Not found"], "errors": {}}
        version, rest = match.groups()
        if rest == "/myself":
            return 200, {}, {"accountId": "5b10a2844c20165700ede21g", "displayName": "Ada Lovelace",
                             "emailAddress": EMAIL, "active": True}
        if rest == "/issue" and method == "POST":
            fields = (body or {}).get("fields") or {}
            errors = {}
            if not fields.get("summary"):
                errors["summary"] = "You must specify a summary of the issue."
            project = fields.get("project") or {}
            if project.get("key") not in PROJECTS and project.get("id") not in PROJECT_IDS:
                errors["project"] = "valid project is required"
            description = fields.get("description")
            if description is not None and isinstance(description, str) == (version == "3"):
                errors["description"] = "Operation value must be an Atlassian Document" if version == "3" \
                    else "Operation value must be a string"
            if errors:
                return 400, {}, {"errorMessages": [], "errors": errors}
            return 201, {}, self._create(fields)
        if rest == "/search/jql" and version == "3" or rest == "/search" and version == "2":
            return self._search(version, body or {})
        match = re.fullmatch(r"/issue/([A-Z]+-\d+)(/transitions|/comment)?", rest)
        if not match or match.group(1) not in self.issues:
            return 404, {}, {"errorMessages": ["Issue does not exist or you do not have permission to see it."],
                             "errors": {}}
        key, sub = match.groups()
        issue = self.issues[key]
        if sub == "/transitions":
            if method == "GET":
                return 200, {}, {"transitions": TRANSITIONS}
            chosen = [t for t in TRANSITIONS if t["id"] == str(((body or {}).get("transition") or {}).get("id"))]
            if not chosen:
                return 400, {}, {"errorMessages": [f"Transition id '{body['transition'].get('id')}' is not "
                                                   "valid for this issue."], "errors": {}}
            issue["fields"]["status"] = chosen[0]["to"]
            return 204, {}, None
        if sub == "/comment":
            comments = self.comments.setdefault(key, [])
            if method == "POST":
                comment = {"id": str(20000 + len(comments)), "body": body["body"],
                           "author": {"displayName": "Ada Lovelace"}}
                comments.append(comment)
                return 201, {}, comment
            start, size = int(query.get("startAt") or 0), min(int(query.get("maxResults") or 50), 100)
            return 200, {}, {"startAt": start, "maxResults": size, "total": len(comments),
                             "comments": comments[start:start + size]}
        if method == "PUT":
            issue["fields"].update((body or {}).get("fields") or {})
            return 204, {}, None
        if method == "DELETE":
            del self.issues[key]
            return 204, {}, None
        return 200, {}, issue

    def _search(self, version: str, body: dict):
        match = _JQL.fullmatch((body.get("jql") or "").strip())
        if not match:
            return 400, {}, {"errorMessages": [f"Error in the JQL Query: The character '{(body.get('jql') or ' ')[0]}'"
                                               " is a reserved JQL character."], "errors": {}}
        project, status = match.groups()
        found = [i for k, i in self.issues.items() if k.startswith(project + "-")
                 and (status is None or i["fields"]["status"]["name"] == status)]
        size = min(int(body.get("maxResults") or 50), 100)
        if version == "2":
            start = int(body.get("startAt") or 0)
            return 200, {}, {"startAt": start, "maxResults": size, "total": len(found),
                             "issues": found[start:start + size]}
        start = int(body.get("nextPageToken") or 0)
        end = start + size
        answer = {"issues": found[start:end], "isLast": end >= len(found)}
        if end < len(found):
            answer["nextPageToken"] = str(end)
        return 200, {}, answer
