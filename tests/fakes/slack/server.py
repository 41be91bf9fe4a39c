"""A stand-in for Slack's Web API on 127.0.0.1, for tests (Slack itself cannot be reached from here).

It answers the methods the Slack node calls the way Slack documents them (https://api.slack.com/methods:
``auth.test``, ``chat.postMessage``, ``chat.update``, ``chat.delete``, ``conversations.list``,
``conversations.history``, ``users.info``): HTTP 200 with ``{"ok": true, ...}`` or ``{"ok": false, "error":
"channel_not_found"}``; cursor pagination through ``response_metadata.next_cursor``; and rate limiting as
Slack does it, HTTP 429 with a ``Retry-After`` header in seconds. A bearer token other than ``TOKEN`` gets
``invalid_auth``. Channel ``C_RATE`` answers 429 once per method before it answers normally.

    with FakeSlack() as slack:
        slack.url          # "http://127.0.0.1:PORT/api"
        slack.calls        # [(method, params), ...]
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit

TOKEN = "xoxb-test-token"
CHANNELS = [{"id": f"C{n:03d}", "name": f"channel-{n}", "is_channel": True, "is_archived": False,
             "num_members": n} for n in range(1, 6)]
MESSAGES = [{"type": "message", "user": "U001", "text": f"message {n}", "ts": f"1700000{n:03d}.000100"}
            for n in range(7, 0, -1)]  # newest first, as conversations.history returns them
USERS = {"U001": {"id": "U001", "name": "ada", "real_name": "Ada Lovelace", "is_bot": False,
                  "profile": {"email": "ada@example.com", "display_name": "ada"}}}


class FakeSlack:
    def __init__(self) -> None:
        self.calls: list[tuple[str, dict]] = []
        self.posted: list[dict] = []
        self._rate_limited: set[str] = set()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/api"

    def __enter__(self) -> FakeSlack:
        threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True).start()
        return self

    def __exit__(self, *exc) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _handler(self):
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def _serve(self) -> None:
                url = urlsplit(self.path)
                params = dict(parse_qsl(url.query))
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                if body and "json" in (self.headers.get("Content-Type") or ""):
                    params.update(json.loads(body))
                elif body:
                    params.update(parse_qsl(body.decode()))
                method = url.path.removeprefix("/api/")
                fake.calls.append((method, params))
                status, headers, answer = fake.answer(method, params, self.headers.get("Authorization", ""))
                payload = json.dumps(answer).encode()
                self.send_response(status)
                for name, value in {"Content-Type": "application/json; charset=utf-8", **headers}.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = _serve

            def log_message(self, *args) -> None:
                pass

        return Handler

    def answer(self, method: str, params: dict, authorization: str) -> tuple[int, dict, dict]:
        if authorization != f"Bearer {TOKEN}":
            return 200, {}, {"ok": False, "error": "invalid_auth"}
        if params.get("channel") == "C_RATE" and method not in self._rate_limited:
            self._rate_limited.add(method)
            return 429, {"Retry-After": "1"}, {"ok": False, "error": "ratelimited"}
        handler = getattr(self, "_" + method.replace(".", "_"), None)
        if handler is None:
            return 200, {}, {"ok": False, "error": "unknown_method"}
        return 200, {}, handler(params)

    def _auth_test(self, params: dict) -> dict:
        return {"ok": True, "url": "https://example.slack.com/", "team": "Example", "user": "linkflow-bot",
                "team_id": "T001", "user_id": "U999", "bot_id": "B001"}

    def _channel(self, params: dict) -> str | None:
        channel = params.get("channel", "")
        return channel if channel in {c["id"] for c in CHANNELS} | {"C_RATE"} else None

    def _chat_postMessage(self, params: dict) -> dict:  # noqa: N802 - Slack's method name
        if not self._channel(params):
            return {"ok": False, "error": "channel_not_found"}
        if not params.get("text") and not params.get("blocks"):
            return {"ok": False, "error": "no_text"}
        ts = f"1700001{len(self.posted):03d}.000200"
        message = {"type": "message", "text": params.get("text", ""), "user": "U999", "ts": ts, "bot_id": "B001"}
        self.posted.append({**params, "ts": ts})
        return {"ok": True, "channel": params["channel"], "ts": ts, "message": message}

    def _chat_update(self, params: dict) -> dict:
        if not self._channel(params):
            return {"ok": False, "error": "channel_not_found"}
        if params.get("ts") not in {p["ts"] for p in self.posted}:
            return {"ok": False, "error": "message_not_found"}
        return {"ok": True, "channel": params["channel"], "ts": params["ts"], "text": params.get("text", "")}

    def _chat_delete(self, params: dict) -> dict:
        if params.get("ts") not in {p["ts"] for p in self.posted}:
            return {"ok": False, "error": "message_not_found"}
        return {"ok": True, "channel": params["channel"], "ts": params["ts"]}

    @staticmethod
    def _page(items: list, params: dict) -> tuple[list, str]:
        start = int(params.get("cursor") or 0)
        limit = min(int(params.get("limit") or 100), 1000)
        end = start + limit
        return items[start:end], (str(end) if end < len(items) else "")

    def _conversations_list(self, params: dict) -> dict:
        page, cursor = self._page(CHANNELS, params)
        return {"ok": True, "channels": page, "response_metadata": {"next_cursor": cursor}}

    def _conversations_history(self, params: dict) -> dict:
        if not self._channel(params):
            return {"ok": False, "error": "channel_not_found"}
        page, cursor = self._page(MESSAGES, params)
        return {"ok": True, "messages": page, "has_more": bool(cursor),
                "response_metadata": {"next_cursor": cursor}}

    def _users_info(self, params: dict) -> dict:
        user = USERS.get(params.get("user", ""))
        return {"ok": True, "user": user} if user else {"ok": False, "error": "user_not_found"}
