"""A stand-in for the Telegram Bot API on 127.0.0.1, for tests (Telegram cannot be reached from here).

It answers as https://core.telegram.org/bots/api documents it (Bot API 7.x): ``POST /bot<token>/<method>`` with a
JSON or multipart/form-data body; ``{"ok": true, "result": ...}``, or ``{"ok": false, "error_code": 400,
"description": "Bad Request: chat not found"}`` with that HTTP status; a wrong token gets 401 ``Unauthorized``; a
flood gets 429 with ``parameters.retry_after`` (seconds) and ``description: "Too Many Requests: retry after N"``.
Methods: getMe, sendMessage, editMessageText, sendPhoto, sendDocument, getChat. Chat ``-100429`` answers 429
once per method before it answers normally.
"""

from __future__ import annotations

from tests.fakes.http_fake import FakeApi, Request

TOKEN = "123456:TEST-token"
CHATS = {"42": {"id": 42, "type": "private", "first_name": "Ada", "username": "ada"},
         "-100429": {"id": -100429, "type": "supergroup", "title": "Busy group"}}
BOT = {"id": 123456, "is_bot": True, "first_name": "LinkFlow", "username": "linkflow_bot"}


class FakeTelegram(FakeApi):
    def __init__(self) -> None:
        super().__init__()
        self.sent: dict[int, dict] = {}
        self.uploads: list[dict] = []
        self._limited: set[str] = set()

    def answer(self, request: Request):
        token, _, method = request.path.removeprefix("/bot").partition("/")
        if token != TOKEN:
            return 401, {}, {"ok": False, "error_code": 401, "description": "Unauthorized"}
        if "multipart/form-data" in request.headers.get("content-type", ""):
            parts = request.multipart()
            params = {k: v[2].decode() for k, v in parts.items() if v[0] is None}
            files = {k: v for k, v in parts.items() if v[0] is not None}
        else:
            params, files = request.json() or {}, {}
        chat = str(params.get("chat_id", ""))
        if chat == "-100429" and method not in self._limited:
            self._limited.add(method)
            return 429, {}, {"ok": False, "error_code": 429, "description": "Too Many Requests: retry after 1",
                             "parameters": {"retry_after": 1}}
        if method == "getMe":
            return 200, {}, {"ok": True, "result": BOT}
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
