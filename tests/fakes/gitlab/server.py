"""A stand-in for GitLab's REST API v4 on 127.0.0.1, for tests (GitLab cannot be reached from here).

Follows the GitLab 17 REST API docs (https://docs.gitlab.com/api/rest/, /api/issues, /api/notes,
/api/merge_requests, /api/projects, /api/users): ``GET /api/v4/user``, ``GET /api/v4/projects/:id`` (``:id``
the URL-encoded path ``group%2Fproject``), ``GET|POST /projects/:id/issues``, ``GET|PUT
/projects/:id/issues/:iid``, ``POST /projects/:id/issues/:iid/notes``, ``GET /projects/:id/merge_requests``.
Authentication by the ``PRIVATE-TOKEN`` header (401 ``{"message": "401 Unauthorized"}`` otherwise); lists page
by ``page``/``per_page`` (default 20) with ``Link``, ``X-Next-Page`` and ``X-Total`` headers; a missing
required attribute is 400 ``{"error": "title is missing"}``, an unknown project 404 ``{"message": "404 Project
Not Found"}``. Project ``group/busy`` answers each (method, path) once with 429, ``Retry-After: 1`` and the
``RateLimit-*`` headers. ``url`` is the server URL a user types (the origin); the API is under ``/api/v4``.
"""

from __future__ import annotations

import re
import time
from urllib.parse import unquote

from tests.fakes.http_fake import FakeApi, Request

TOKEN = "glpat-test-token"
STATES = {"opened", "closed"}


class FakeGitLab(FakeApi):
    def __init__(self) -> None:
        super().__init__()
        self.issues: dict[str, list[dict]] = {}
        self.notes: list[dict] = []
        self.merge_requests = [{"id": 900 + n, "iid": n, "title": f"MR {n}", "state": "merged" if n % 3 == 0
                                else "opened", "source_branch": f"feature-{n}", "target_branch": "main"}
                               for n in range(1, 8)]

    def seed(self, project: str, count: int) -> None:
        for n in range(count):
            self._new_issue(project, {"title": f"Issue {n + 1}"})

    def _new_issue(self, project: str, body: dict) -> dict:
        issues = self.issues.setdefault(project, [])
        iid = len(issues) + 1
        labels = body.get("labels") or ""
        issue = {"id": 7000 + iid, "iid": iid, "project_id": 1, "title": body["title"],
                 "description": body.get("description"), "state": "opened",
                 "labels": [x for x in labels.split(",") if x] if isinstance(labels, str) else labels,
                 "web_url": f"https://gitlab.example/{project}/-/issues/{iid}", "user_notes_count": 0}
        issues.append(issue)
        return issue

    def answer(self, request: Request):
        method, path, query, body = request.method, request.path, request.query, request.data()
        if request.headers.get("private-token") != TOKEN:
            return 401, {}, {"message": "401 Unauthorized"}
        if path == "/api/v4/user":
            return 200, {}, {"id": 1, "username": "ada", "name": "Ada Lovelace", "state": "active"}
        match = re.fullmatch(r"/api/v4/projects/([^/]+)(/.*)?", path)
        if not match or unquote(match.group(1)) == "group/missing":
            return 404, {}, {"message": "404 Project Not Found"}
        project, rest = unquote(match.group(1)), match.group(2) or ""
        if project == "group/busy" and self.once(method, path):
            return 429, {"Retry-After": "1", "RateLimit-Limit": "600", "RateLimit-Remaining": "0",
                         "RateLimit-Reset": str(int(time.time()) + 1)}, {"message": "Retry later"}
        if rest == "":
            return 200, {}, {"id": 1, "path_with_namespace": project, "default_branch": "main",
                             "open_issues_count": len(self.issues.get(project, []))}
        if rest in ("/issues", "/merge_requests") and method == "GET":
            state = query.get("state", "all")
            pool = self.issues.get(project, []) if rest == "/issues" else self.merge_requests
            return self._paged(path, [i for i in pool if state == "all" or i["state"] == state], query)
        if rest == "/issues" and method == "POST":
            if not (body or {}).get("title"):
                return 400, {}, {"error": "title is missing"}
            return 201, {}, self._new_issue(project, body)
        match = re.fullmatch(r"/issues/(\d+)(/notes)?", rest)
        issues = self.issues.get(project, [])
        if not match or not 0 < int(match.group(1)) <= len(issues):
            return 404, {}, {"message": "404 Issue Not Found"}
        issue = issues[int(match.group(1)) - 1]
        if match.group(2) and method == "POST":
            if not (body or {}).get("body"):
                return 400, {}, {"error": "body is missing"}
            note = {"id": 3000 + len(self.notes), "body": body["body"], "noteable_type": "Issue",
                    "noteable_iid": issue["iid"], "author": {"username": "ada"}}
            self.notes.append(note)
            issue["user_notes_count"] += 1
            return 201, {}, note
        if method == "PUT":
            for key in ("title", "description"):
                if key in body:
                    issue[key] = body[key]
            if "labels" in body:
                issue["labels"] = [x for x in body["labels"].split(",") if x]
            event = body.get("state_event")
            if event:
                issue["state"] = {"close": "closed", "reopen": "opened"}[event]
        return 200, {}, issue

    def _paged(self, path: str, items: list, query: dict):
        page, headers = self.link_page(path, items, query, default_size=20)
        current = int(query.get("page") or 1)
        size = min(int(query.get("per_page") or 20), 100)
        headers.update({"X-Total": str(len(items)), "X-Page": str(current), "X-Per-Page": str(size),
                        "X-Next-Page": str(current + 1) if current * size < len(items) else ""})
        return 200, headers, page
