"""A stand-in for GitHub's repository webhooks on 127.0.0.1, for tests (GitHub itself cannot be reached from here).

It follows GitHub's documentation of the REST API's repository webhooks
(https://docs.github.com/en/rest/repos/webhooks: ``POST /repos/{owner}/{repo}/hooks`` answers 201 with the hook,
``DELETE /repos/{owner}/{repo}/hooks/{hook_id}`` answers 204; errors are ``{"message", "documentation_url"}``,
a validation failure is 422 ``{"message": "Validation Failed", "errors": [{"resource", "code", "message"}]}``)
and of webhook deliveries (https://docs.github.com/en/webhooks/webhook-events-and-payloads: a JSON POST with
``X-GitHub-Event``, ``X-GitHub-Delivery``, ``X-Hub-Signature-256: sha256=<HMAC-SHA256 of the body under the
hook's secret>``; a ``ping`` event is sent when a hook is created, here when a test calls ``ping``).

A bearer token other than ``TOKEN`` gets 401 "Bad credentials"; a repository other than ``REPO`` gets 404
"Not Found"; a second hook with the same URL on a repository gets 422 "Hook already exists on this repository".

    with FakeGitHub() as github:
        github.url                         # the API base URL
        github.hooks                       # {hook_id: {"owner", "repo", "events", "config": {"url", "secret"...}}}
        github.deliver(hook_id, "push", {...})   # POST a signed delivery to the hook's URL; the httpx.Response
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx

TOKEN = "ghp_test_token"
REPO = ("octo-org", "hello-world")


class FakeGitHub:
    def __init__(self, host: str = "127.0.0.1") -> None:
        self.hooks: dict[int, dict] = {}
        self.calls: list[tuple[str, str]] = []
        self._ids = itertools.count(4_000_001)
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer((host, 0), self._handler())
        self._server.daemon_threads = True

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def __enter__(self) -> FakeGitHub:
        threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True).start()
        return self

    def __exit__(self, *exc) -> None:
        self._server.shutdown()
        self._server.server_close()

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

    def _create(self, owner: str, repo: str, body: dict) -> tuple[int, dict]:
        config = body.get("config") or {}
        if not str(config.get("url", "")).startswith(("http://", "https://")):
            return 422, _invalid("url", "missing_field", "url is missing or not a valid URL")
        with self._lock:
            if any(h["owner"] == owner and h["repo"] == repo and h["config"]["url"] == config["url"]
                   for h in self.hooks.values()):
                return 422, _invalid("Hook", "custom", "Hook already exists on this repository")
            hook_id = next(self._ids)
            self.hooks[hook_id] = {"owner": owner, "repo": repo, "events": body.get("events") or ["push"],
                                   "active": body.get("active", True), "config": dict(config)}
        shown = {k: ("********" if k == "secret" else v) for k, v in config.items()}
        return 201, {"type": "Repository", "id": hook_id, "name": "web", "active": True,
                     "events": self.hooks[hook_id]["events"], "config": shown,
                     "url": f"{self.url}/repos/{owner}/{repo}/hooks/{hook_id}"}

    def _handler(self):
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def _serve(self) -> None:
                fake.calls.append((self.command, self.path))
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length) or b"{}") if length else {}
                if self.headers.get("Authorization") != f"Bearer {TOKEN}":
                    return self._send(401, {"message": "Bad credentials",
                                            "documentation_url": "https://docs.github.com/rest"})
                parts = self.path.strip("/").split("/")
                if parts == ["user"] and self.command == "GET":
                    return self._send(200, {"login": "octocat", "id": 1})
                if len(parts) < 4 or parts[0] != "repos" or parts[3] != "hooks" or tuple(parts[1:3]) != REPO:
                    return self._send(404, {"message": "Not Found",
                                            "documentation_url": "https://docs.github.com/rest"})
                if len(parts) == 4 and self.command == "POST":
                    return self._send(*fake._create(parts[1], parts[2], body))
                if len(parts) == 5 and self.command == "DELETE":
                    with fake._lock:
                        removed = fake.hooks.pop(int(parts[4]) if parts[4].isdigit() else -1, None)
                    return self._send(204, None) if removed else self._send(404, {"message": "Not Found"})
                return self._send(404, {"message": "Not Found"})

            def _send(self, status: int, answer) -> None:
                data = b"" if answer is None else json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_DELETE = _serve  # noqa: N815 - the http.server API

            def log_message(self, *args) -> None:
                pass

        return Handler


def _invalid(resource: str, code: str, message: str) -> dict:
    return {"message": "Validation Failed", "errors": [{"resource": resource, "code": code, "message": message}],
            "documentation_url": "https://docs.github.com/rest/repos/webhooks#create-a-repository-webhook"}
