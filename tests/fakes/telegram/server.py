"""A stand-in for the Telegram Bot API on 127.0.0.1, for tests (Telegram cannot be reached from here). One fake
serves both the Telegram node's tests and the Telegram Trigger's.

It answers as https://core.telegram.org/bots/api documents it (Bot API 7.x): ``POST /bot<token>/<method>`` with a
JSON, form or multipart/form-data body; ``{"ok": true, "result": ...}``, or ``{"ok": false, "error_code": 400,
"description": "Bad Request: chat not found"}`` with that HTTP status; a wrong token gets 401 ``Unauthorized``; a
flood gets 429 with ``parameters.retry_after`` (seconds) and ``description: "Too Many Requests: retry after N"``.
Methods: getMe, sendMessage, editMessageText, sendPhoto, sendDocument, getChat. Chat ``-100429`` answers 429
once per method before it answers normally.

Webhooks: ``setWebhook`` (``url``, ``secret_token`` of 1-256 characters ``A-Z a-z 0-9 _ -``,
``allowed_updates``), ``deleteWebhook``, ``getWebhookInfo``; and update delivery: a JSON POST of the Update to
the webhook's URL with ``X-Telegram-Bot-Api-Secret-Token`` set to the secret token. One deviation, for tests
only: Telegram refuses a webhook URL that is not HTTPS ("bad webhook: An HTTPS URL must be provided for
webhook"); the fake does too unless made with ``allow_http=True``, since LinkFlow runs on plain HTTP on loopback
in tests.

    with FakeTelegram(allow_http=True) as telegram:
        telegram.url                       # the Bot API base URL
        telegram.calls                     # the Bot API methods called, in order
        telegram.webhook                   # {"url", "secret_token", "allowed_updates"} or None
        telegram.send_update({...})        # POST an update to the webhook; the httpx.Response
"""

from __future__ import annotations

import itertools
import json
import re

import httpx

from tests.fakes.http_fake import FakeApi, Request

TOKEN = "123456:TEST-token"
CHATS = {"42": {"id": 42, "type": "private", "first_name": "Ada", "username": "ada"},
         "-100429": {"id": -100429, "type": "supergroup", "title": "Busy group"}}
BOT = {"id": 123456, "is_bot": True, "first_name": "LinkFlow", "username": "linkflow_bot"}
_SECRET = re.compile(r"^[A-Za-z0-9_-]{1,256}$")


class FakeTelegram(FakeApi):
    def __init__(self, *, allow_http: bool = False) -> None:
        super().__init__()
        self.allow_http = allow_http
        self.webhook: dict | None = None
        self.sent: dict[int, dict] = {}
        self.uploads: list[dict] = []
        self._limited: set[str] = set()
        self._update_ids = itertools.count(100_000)

    @property
    def calls(self) -> list[str]:
        return [request.path.rpartition("/")[2] for request in self.requests]

    def send_update(self, update: dict, *, secret_token: str | None = None) -> httpx.Response:
        assert self.webhook is not None, "no webhook is set"
        body = {"update_id": next(self._update_ids), **update}
        token = self.webhook["secret_token"] if secret_token is None else secret_token
        headers = {"X-Telegram-Bot-Api-Secret-Token": token} if token else {}
        return httpx.post(self.webhook["url"], json=body, headers=headers, timeout=30)

    def _webhook(self, method: str, params: dict) -> tuple[int, dict, dict]:
        if method == "setWebhook":
            url = str(params.get("url") or "")
            if not url.startswith("https://") and not (self.allow_http and url.startswith("http://")):
                return 400, {}, _error(400, "Bad Request: bad webhook: An HTTPS URL must be provided for webhook")
            secret = params.get("secret_token")
            if secret is not None and not _SECRET.match(str(secret)):
                return 400, {}, _error(400, "Bad Request: secret token contains unallowed characters")
            allowed = params.get("allowed_updates")
            if isinstance(allowed, str):  # a form body carries it JSON-serialized
                allowed = json.loads(allowed)
            self.webhook = {"url": url, "secret_token": secret, "allowed_updates": allowed}
            return 200, {}, {"ok": True, "result": True, "description": "Webhook was set"}
        if method == "deleteWebhook":
            self.webhook = None
            return 200, {}, {"ok": True, "result": True, "description": "Webhook was deleted"}
        return 200, {}, {"ok": True, "result": {"url": (self.webhook or {}).get("url", ""),
                                                "pending_update_count": 0}}

    def answer(self, request: Request):
        token, _, method = request.path.removeprefix("/bot").partition("/")
        if token != TOKEN:
            return 401, {}, {"ok": False, "error_code": 401, "description": "Unauthorized"}
        if "multipart/form-data" in request.headers.get("content-type", ""):
            parts = request.multipart()
            params = {k: v[2].decode() for k, v in parts.items() if v[0] is None}
            files = {k: v for k, v in parts.items() if v[0] is not None}
        elif "x-www-form-urlencoded" in request.headers.get("content-type", ""):
            params, files = request.form(), {}
        else:
            params, files = request.json() or {}, {}
        chat = str(params.get("chat_id", ""))
        if chat == "-100429" and method not in self._limited:
            self._limited.add(method)
            return 429, {}, {"ok": False, "error_code": 429, "description": "Too Many Requests: retry after 1",
                             "parameters": {"retry_after": 1}}
        if method == "getMe":
            return 200, {}, {"ok": True, "result": BOT}
        if method in ("setWebhook", "deleteWebhook", "getWebhookInfo"):
            return self._webhook(method, params)
        if method not in ("sendMessage", "editMessageText", "sendPhoto", "sendDocument", "getChat"):
            return 404, {}, {"ok": False, "error_code": 404, "description": "Not Found"}
        if chat not in CHATS:
            return 400, {}, {"ok": False, "error_code": 400, "description": "Bad Request: chat not found"}
        if method == "getChat":
            return 200, {}, {"ok": True, "result": CHATS[chat]}
        if method == "editMessageText":
            message = self.sent.get(int(params.get("message_id") or 0))
            if message is None:
                return 400, {}, {"ok": False, "error_code": 400,
                                 "description": "Bad Request: message to edit not found"}
            message.update(text=params["text"], edit_date=1700000100)
            return 200, {}, {"ok": True, "result": message}
        message = {"message_id": len(self.sent) + 1, "from": BOT, "chat": CHATS[chat], "date": 1700000000}
        if method == "sendMessage":
            if not params.get("text"):
                return 400, {}, {"ok": False, "error_code": 400, "description": "Bad Request: message text is empty"}
            message["text"] = params["text"]
        else:
            field = "photo" if method == "sendPhoto" else "document"
            if field in files:
                name, mime, data = files[field]
                self.uploads.append({"field": field, "file_name": name, "mime_type": mime, "data": data})
                file = {"file_id": f"F{len(self.uploads)}", "file_unique_id": f"U{len(self.uploads)}",
                        "file_size": len(data)}
            elif params.get(field):
                file = {"file_id": str(params[field]), "file_unique_id": "U0", "file_size": 0}
            else:
                return 400, {}, {"ok": False, "error_code": 400,
                                 "description": f"Bad Request: there is no {field} in the request"}
            if field == "photo":
                message["photo"] = [{**file, "width": 90, "height": 90}]
            else:
                message["document"] = {**file, "file_name": files.get(field, ("x",))[0], "mime_type": "text/plain"}
            if params.get("caption"):
                message["caption"] = params["caption"]
        self.sent[message["message_id"]] = dict(message)
        return 200, {}, {"ok": True, "result": message}


def _error(code: int, description: str) -> dict:
    return {"ok": False, "error_code": code, "description": description}
