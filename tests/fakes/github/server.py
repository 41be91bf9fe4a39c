"""A stand-in for GitHub's REST API on 127.0.0.1, for tests (GitHub itself cannot be reached from here).

Follows the REST API docs, version 2022-11-28 (https://docs.github.com/en/rest?apiVersion=2022-11-28):
``GET /user``, ``GET /repos/{owner}/{repo}``, ``GET|POST /repos/{owner}/{repo}/issues``,
``GET|PATCH /repos/{owner}/{repo}/issues/{number}``, ``POST /repos/{owner}/{repo}/issues/{number}/comments``,
``GET /repos/{owner}/{repo}/releases``. Lists page by ``page``/``per_page`` with a ``Link`` header
(``rel="next"``, ``rel="last"``); errors are ``{"message": ..., "documentation_url": ...}`` (422s add
``errors``; an assignee ``nobody`` is invalid); a token other than ``TOKEN`` gets 401 ``Bad credentials``. Repository ``octo/busy`` answers every
(method, path) once with 429 and ``Retry-After: 1``, and ``octo/spent`` once with 403,
``x-ratelimit-remaining: 0`` and ``x-ratelimit-reset`` one second ahead (GitHub's primary rate limit).
"""

from __future__ import annotations

import re
import time

from tests.fakes._http import FakeApi

TOKEN = "ghp_test_token"
DOCS = "https://docs.github.com/rest"
RELEASES = [{"id": n, "tag_name": f"v1.{n}.0", "name": f"Release 1.{n}", "draft": False, "prerelease": False}
            for n in range(5, 0, -1)]


class FakeGitHub(FakeApi):
    def __init__(self) -> None:
        super().__init__()
        self.issues: dict[str, list[dict]] = {}
        self.comments: list[dict] = []

    @property
    def url(self) -> str:
        return self.origin

    def seed(self, repo: str, count: int) -> None:
        for n in range(count):
            self._new_issue(repo, {"title": f"Issue {n + 1}", "body": "seeded"})

    def _new_issue(self, repo: str, body: dict) -> dict:
        issues = self.issues.setdefault(repo, [])
        number = len(issues) + 1
        issue = {"id": 1000 + number, "number": number, "title": body["title"], "body": body.get("body"),
                 "state": "open", "labels": [{"name": n} for n in body.get("labels") or []],
                 "assignees": [{"login": n} for n in body.get("assignees") or []],
                 "html_url": f"https://github.com/{repo}/issues/{number}", "comments": 0}
        issues.append(issue)
        return issue

    def answer(self, method, path, query, body, headers):
        if headers.get("Authorization") not in (f"Bearer {TOKEN}", f"token {TOKEN}"):
            return 401, {}, {"message": "Bad credentials", "documentation_url": DOCS}
        if path == "/user":
            return 200, {}, {"login": "octocat", "id": 1, "type": "User"}
        match = re.fullmatch(r"/repos/([^/]+/[^/]+)(/.*)?", path)
        if not match:
            return 404, {}, {"message": "Not Found", "documentation_url": DOCS}
        repo, rest = match.group(1), match.group(2) or ""
        if repo == "octo/busy" and self.once(method, path):
            return 429, {"Retry-After": "1"}, {"message": "You have exceeded a secondary rate limit."}
        if repo == "octo/spent" and self.once(method, path):
            return 403, {"x-ratelimit-remaining": "0", "x-ratelimit-reset": str(int(time.time()) + 1)}, \
                {"message": "API rate limit exceeded for user ID 1.", "documentation_url": DOCS}
        if repo == "octo/missing":
            return 404, {}, {"message": "Not Found", "documentation_url": DOCS}
        if rest == "":
            return 200, {}, {"id": 42, "name": repo.split("/")[1], "full_name": repo, "private": False,
                             "default_branch": "main", "open_issues_count": len(self.issues.get(repo, []))}
        if rest == "/releases":
            page, links = self.link_page(path, RELEASES, query)
            return 200, links, page
        if rest == "/issues" and method == "GET":
            state = query.get("state", "open")
            found = [i for i in self.issues.get(repo, []) if state == "all" or i["state"] == state]
            page, links = self.link_page(path, found, query)
            return 200, links, page
        if rest == "/issues" and method == "POST":
            if not (body or {}).get("title"):
                return 422, {}, {"message": "Validation Failed", "documentation_url": DOCS,
                                 "errors": [{"resource": "Issue", "code": "missing_field", "field": "title"}]}
            if "nobody" in (body.get("assignees") or []):
                return 422, {}, {"message": "Validation Failed", "documentation_url": DOCS, "errors": [
                    {"value": "nobody", "resource": "Issue", "field": "assignees", "code": "invalid"}]}
            return 201, {}, self._new_issue(repo, body)
        match = re.fullmatch(r"/issues/(\d+)(/comments)?", rest)
        issues = self.issues.get(repo, [])
        if not match or not 0 < int(match.group(1)) <= len(issues):
            return 404, {}, {"message": "Not Found", "documentation_url": DOCS}
        issue = issues[int(match.group(1)) - 1]
        if match.group(2) and method == "POST":
            comment = {"id": 5000 + len(self.comments), "body": body["body"], "user": {"login": "octocat"},
                       "issue_url": f"{self.origin}/repos/{repo}/issues/{issue['number']}"}
            self.comments.append(comment)
            issue["comments"] += 1
            return 201, {}, comment
        if method == "PATCH":
            for key in ("title", "body", "state"):
                if key in body:
                    issue[key] = body[key]
            if "labels" in body:
                issue["labels"] = [{"name": n} for n in body["labels"]]
            if "assignees" in body:
                issue["assignees"] = [{"login": n} for n in body["assignees"]]
        return 200, {}, issue
