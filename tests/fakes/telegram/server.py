"""A stand-in for Telegram's Bot API on 127.0.0.1, for tests (Telegram itself cannot be reached from here).

It follows the Bot API's documentation (https://core.telegram.org/bots/api): methods at
``/bot<token>/<method>`` answering ``{"ok": true, "result": ..., "description"?}`` or ``{"ok": false,
"error_code", "description"}``; ``setWebhook`` (``url``, ``secret_token`` of 1-256 characters ``A-Z a-z 0-9 _ -``,
``allowed_updates``), ``deleteWebhook``, ``getWebhookInfo`` and ``getMe``; and update delivery: a JSON POST of the
Update to the webhook's URL with ``X-Telegram-Bot-Api-Secret-Token`` set to the secret token.

One deviation, for tests only: Telegram refuses a webhook URL that is not HTTPS ("bad webhook: An HTTPS URL must be
provided for webhook"); the fake does too unless made with ``allow_http=True``, since LinkFlow runs on plain HTTP
on loopback in tests. A token other than ``TOKEN`` gets 401 "Unauthorized".

    with FakeTelegram(allow_http=True) as telegram:
        telegram.url                       # the Bot API base URL
        telegram.webhook                   # {"url", "secret_token", "allowed_updates"} or None
        telegram.send_update({...})        # POST an update to the webhook; the httpx.Response
"""

from __future__ import annotations

import itertools
import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx

TOKEN = "123456:TEST-token_abc"
_SECRET = re.compile(r"^[A-Za-z0-9_-]{1,256}$")


class FakeTelegram:
    def __init__(self, *, allow_http: bool = False) -> None:
        self.allow_http = allow_http
        self.webhook: dict | None = None
        self.calls: list[str] = []
        self._update_ids = itertools.count(100_000)
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def __enter__(self) -> FakeTelegram:
        threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True).start()
        return self

    def __exit__(self, *exc) -> None:
        self._server.shutdown()
        self._server.server_close()

    def send_update(self, update: dict, *, secret_token: str | None = None) -> httpx.Response:
        assert self.webhook is not None, "no webhook is set"
        body = {"update_id": next(self._update_ids), **update}
        token = self.webhook["secret_token"] if secret_token is None else secret_token
        headers = {"X-Telegram-Bot-Api-Secret-Token": token} if token else {}
        return httpx.post(self.webhook["url"], json=body, headers=headers, timeout=30)

    def _method(self, name: str, args: dict) -> tuple[int, dict]:
        if name == "getMe":
            return 200, {"ok": True, "result": {"id": 123456, "is_bot": True, "username": "linkflow_test_bot"}}
        if name == "setWebhook":
            url = str(args.get("url") or "")
            if not url.startswith("https://") and not (self.allow_http and url.startswith("http://")):
                return 400, _error(400, "Bad Request: bad webhook: An HTTPS URL must be provided for webhook")
            secret = args.get("secret_token")
            if secret is not None and not _SECRET.match(str(secret)):
                return 400, _error(400, "Bad Request: secret token contains unallowed characters")
            self.webhook = {"url": url, "secret_token": secret, "allowed_updates": args.get("allowed_updates")}
            return 200, {"ok": True, "result": True, "description": "Webhook was set"}
        if name == "deleteWebhook":
            self.webhook = None
            return 200, {"ok": True, "result": True, "description": "Webhook was deleted"}
        if name == "getWebhookInfo":
            return 200, {"ok": True, "result": {"url": (self.webhook or {}).get("url", ""),
                                                "pending_update_count": 0}}
        return 404, _error(404, "Not Found")

    def _handler(self):
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def _serve(self) -> None:
                prefix, _, name = self.path.strip("/").partition("/")
                fake.calls.append(name)
                length = int(self.headers.get("Content-Length") or 0)
                args = json.loads(self.rfile.read(length)) if length else {}
                status, answer = (401, _error(401, "Unauthorized")) if prefix != f"bot{TOKEN}" else \
                    fake._method(name, args)
                data = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = _serve  # noqa: N815 - the http.server API

            def log_message(self, *args) -> None:
                pass

        return Handler


def _error(code: int, description: str) -> dict:
    return {"ok": False, "error_code": code, "description": description}
