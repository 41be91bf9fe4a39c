"""A stand-in for GitHub's REST API and webhook deliveries on 127.0.0.1, for tests (GitHub itself cannot be
reached from here). One fake serves both the GitHub node's tests and the GitHub Trigger's.

Follows the REST API docs, version 2022-11-28 (https://docs.github.com/en/rest?apiVersion=2022-11-28):
``GET /user``, ``GET /repos/{owner}/{repo}``, ``GET|POST /repos/{owner}/{repo}/issues``,
``GET|PATCH /repos/{owner}/{repo}/issues/{number}``, ``POST /repos/{owner}/{repo}/issues/{number}/comments``,
``GET /repos/{owner}/{repo}/releases``. Lists page by ``page``/``per_page`` with a ``Link`` header
(``rel="next"``, ``rel="last"``); errors are ``{"message": ..., "documentation_url": ...}`` (422s add
``errors``; an assignee ``nobody`` is invalid); a token other than ``TOKEN`` gets 401 ``Bad credentials``. Repository ``octo/busy`` answers every
(method, path) once with 429 and ``Retry-After: 1``, and ``octo/spent`` once with 403,
``x-ratelimit-remaining: 0`` and ``x-ratelimit-reset`` one second ahead (GitHub's primary rate limit).

Repository webhooks (https://docs.github.com/en/rest/repos/webhooks): ``POST /repos/{owner}/{repo}/hooks``
answers 201 with the hook (its secret shown as ``********``), ``DELETE /repos/{owner}/{repo}/hooks/{hook_id}``
204; hooks exist only on ``REPO`` (any other repository's hooks are 404 "Not Found"); a URL that is not http(s)
is 422 "Validation Failed", a second hook with the same URL 422 "Hook already exists on this repository".
Deliveries (https://docs.github.com/en/webhooks/webhook-events-and-payloads) are a JSON POST with
``X-GitHub-Event``, ``X-GitHub-Delivery``, ``X-Hub-Signature-256: sha256=<HMAC-SHA256 of the body under the
hook's secret>``; GitHub sends a ``ping`` when a hook is created, this fake when a test calls ``ping``.

    with FakeGitHub() as github:               # FakeGitHub(host="127.0.0.2") to listen elsewhere
        github.url                             # the API base URL
        github.requests                        # [Request(method, path, query, headers, body), ...]
        github.hooks                           # {hook_id: {"owner", "repo", "events", "config": {"url", "secret"}}}
        github.deliver(hook_id, "push", {...})  # POST a signed delivery to the hook's URL; the httpx.Response
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import re
import threading
import time
import uuid

import httpx

from tests.fakes.http_fake import FakeApi, Request

TOKEN = "ghp_test_token"
REPO = ("octo-org", "hello-world")  # the repository that takes webhooks
DOCS = "https://docs.github.com/rest"
RELEASES = [{"id": n, "tag_name": f"v1.{n}.0", "name": f"Release 1.{n}", "draft": False, "prerelease": False}
            for n in range(5, 0, -1)]


class FakeGitHub(FakeApi):
    def __init__(self, host: str = "127.0.0.1") -> None:
        super().__init__(host)
        self.issues: dict[str, list[dict]] = {}
        self.comments: list[dict] = []
        self.hooks: dict[int, dict] = {}
        self._hook_ids = itertools.count(4_000_001)
        self._lock = threading.Lock()

    def seed(self, repo: str, count: int) -> None:
        for n in range(count):
            self._new_issue(repo, {"title": f"Issue {n + 1}", "body": "seeded"})

    # --- webhook deliveries -------------------------------------------------------------------------------

    def signed(self, hook_id: int, event: str, payload: dict) -> tuple[bytes, dict]:
        body = json.dumps(payload).encode()
        secret = self.hooks[hook_id]["config"]["secret"].encode()
        return body, {"Content-Type": "application/json", "User-Agent": "GitHub-Hookshot/fake",
                      "X-GitHub-Event": event, "X-GitHub-Delivery": str(uuid.uuid4()),
                      "X-GitHub-Hook-ID": str(hook_id),
                      "X-Hub-Signature": "sha1=" + hmac.new(secret, body, hashlib.sha1).hexdigest(),
                      "X-Hub-Signature-256": "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()}

    def deliver(self, hook_id: int, event: str, payload: dict) -> httpx.Response:
        body, headers = self.signed(hook_id, event, payload)
        return httpx.post(self.hooks[hook_id]["config"]["url"], content=body, headers=headers, timeout=30)

    def ping(self, hook_id: int) -> httpx.Response:
        hook = self.hooks[hook_id]
        return self.deliver(hook_id, "ping", {"zen": "Design for failure.", "hook_id": hook_id,
                                              "hook": {"id": hook_id, "type": "Repository", "events": hook["events"]}})

    # --- the REST API ---------------------------------------------------------------------------------------

    def _new_issue(self, repo: str, body: dict) -> dict:
        issues = self.issues.setdefault(repo, [])
        number = len(issues) + 1
        issue = {"id": 1000 + number, "number": number, "title": body["title"], "body": body.get("body"),
                 "state": "open", "labels": [{"name": n} for n in body.get("labels") or []],
                 "assignees": [{"login": n} for n in body.get("assignees") or []],
                 "html_url": f"https://github.com/{repo}/issues/{number}", "comments": 0}
        issues.append(issue)
        return issue

    def _hooks(self, method: str, repo: str, rest: str, body) -> tuple[int, dict, dict | None]:
        if tuple(repo.split("/")) != REPO:
            return 404, {}, {"message": "Not Found", "documentation_url": DOCS}
        owner, name = REPO
        if rest == "/hooks" and method == "POST":
            config = (body or {}).get("config") or {}
            if not str(config.get("url", "")).startswith(("http://", "https://")):
                return 422, {}, _invalid("url", "missing_field", "url is missing or not a valid URL")
            with self._lock:
                if any(h["config"]["url"] == config["url"] for h in self.hooks.values()):
                    return 422, {}, _invalid("Hook", "custom", "Hook already exists on this repository")
                hook_id = next(self._hook_ids)
                self.hooks[hook_id] = {"owner": owner, "repo": name, "events": body.get("events") or ["push"],
                                       "active": body.get("active", True), "config": dict(config)}
            shown = {k: ("********" if k == "secret" else v) for k, v in config.items()}
            return 201, {}, {"type": "Repository", "id": hook_id, "name": "web", "active": True,
                             "events": self.hooks[hook_id]["events"], "config": shown,
                             "url": f"{self.url}/repos/{owner}/{name}/hooks/{hook_id}"}
        match = re.fullmatch(r"/hooks/(\d+)", rest)
        if match and method == "DELETE":
            with self._lock:
                removed = self.hooks.pop(int(match.group(1)), None)
            return (204, {}, None) if removed else (404, {}, {"message": "Not Found", "documentation_url": DOCS})
        return 404, {}, {"message": "Not Found", "documentation_url": DOCS}

    def answer(self, request: Request):
        method, path, query, body = request.method, request.path, request.query, request.data()
        if request.headers.get("authorization") not in (f"Bearer {TOKEN}", f"token {TOKEN}"):
            return 401, {}, {"message": "Bad credentials", "documentation_url": DOCS}
        if path == "/user":
            return 200, {}, {"login": "octocat", "id": 1, "type": "User"}
        match = re.fullmatch(r"/repos/([^/]+/[^/]+)(/.*)?", path)
        if not match:
            return 404, {}, {"message": "Not Found", "documentation_url": DOCS}
        repo, rest = match.group(1), match.group(2) or ""
        if rest == "/hooks" or rest.startswith("/hooks/"):
            return self._hooks(method, repo, rest, body)
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


def _invalid(resource: str, code: str, message: str) -> dict:
    return {"message": "Validation Failed", "errors": [{"resource": resource, "code": code, "message": message}],
            "documentation_url": "https://docs.github.com/rest/repos/webhooks#create-a-repository-webhook"}
