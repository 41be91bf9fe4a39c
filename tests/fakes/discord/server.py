"""A stand-in for Discord's HTTP API v10 on 127.0.0.1, for tests (Discord cannot be reached from here).

It answers as https://discord.com/developers/docs documents it (API v10): ``POST /api/webhooks/{id}/{token}?wait=true``
(a Message), ``GET /api/webhooks/{id}/{token}`` (the Webhook), ``GET /api/v10/users/@me``,
``POST /api/v10/channels/{id}/messages`` and ``GET /api/v10/channels/{id}/messages?limit=1..100&before=ID``
(newest first) with ``Authorization: Bot TOKEN``. Errors are ``{"code": 10003, "message": "Unknown Channel"}`` with
the HTTP status; a body that fails validation gets 400 ``{"code": 50035, "message": "Invalid Form Body", "errors":
{...}}``; rate limits are 429 ``{"message": "You are being rate limited.", "retry_after": 1.0, "global": false}``
with a ``Retry-After`` header. Channel ``429`` (and the webhook of id ``429``) answers 429 once before it answers.
"""

from __future__ import annotations

from tests.fakes.http_fake import FakeApi, Request

BOT_TOKEN = "bot-test-token"
WEBHOOK = ("1001", "whsecret")
CHANNEL = "2001"
# 250 messages, snowflake ids ascending with time; the API lists them newest first
HISTORY = [{"id": str(900000 + n), "channel_id": CHANNEL, "content": f"message {n}", "type": 0,
            "author": {"id": "1", "username": "ada"}} for n in range(1, 251)]
_EMBED_KEYS = {"title", "type", "description", "url", "timestamp", "color", "footer", "image", "thumbnail", "video",
               "provider", "author", "fields"}
_RATE = {"message": "You are being rate limited.", "retry_after": 1.0, "global": False}


class FakeDiscord(FakeApi):
    def __init__(self) -> None:
        super().__init__()
        self.posted: list[dict] = []
        self._limited: set[str] = set()

    def webhook_url(self, webhook_id: str = WEBHOOK[0], token: str = WEBHOOK[1]) -> str:
        return f"{self.url}/api/webhooks/{webhook_id}/{token}"

    @property
    def api_url(self) -> str:
        return f"{self.url}/api/v10"

    def answer(self, request: Request):
        parts = request.path.strip("/").split("/")
        if parts[:2] == ["api", "webhooks"] and len(parts) == 4:
            return self._webhook(request, parts[2], parts[3])
        if parts[:2] != ["api", "v10"]:
            return 404, {}, {"message": "404: Not Found", "code": 0}
        if request.headers.get("authorization") != f"Bot {BOT_TOKEN}":
            return 401, {}, {"message": "401: Unauthorized", "code": 0}
        rest = parts[2:]
        if rest == ["users", "@me"]:
            return 200, {}, {"id": "3001", "username": "LinkFlowBot", "bot": True}
        if len(rest) == 3 and rest[0] == "channels" and rest[2] == "messages":
            if rest[1] == "429" and request.method not in self._limited:
                self._limited.add(request.method)
                return 429, {"Retry-After": "1"}, _RATE
            if rest[1] not in (CHANNEL, "429"):
                return 404, {}, {"message": "Unknown Channel", "code": 10003}
            if request.method == "GET":
                return self._list(request)
            return self._post(request.json() or {}, rest[1])
        return 404, {}, {"message": "404: Not Found", "code": 0}

    def _webhook(self, request: Request, webhook_id: str, token: str):
        if webhook_id == "429" and "webhook" not in self._limited:
            self._limited.add("webhook")
            return 429, {"Retry-After": "1"}, _RATE
        if (webhook_id, token) != WEBHOOK and webhook_id != "429":
            return 401, {}, {"message": "Invalid Webhook Token", "code": 50027}
        if request.method == "GET":
            return 200, {}, {"id": webhook_id, "type": 1, "name": "Alerts", "channel_id": CHANNEL}
        body = request.json() or {}
        status, headers, message = self._post(body, CHANNEL, webhook=webhook_id)
        if status == 200 and request.query.get("wait") != "true":
            return 204, {}, b""  # without wait=true Discord answers 204 No Content
        return status, headers, message

    def _post(self, body: dict, channel: str, webhook: str | None = None):
        if not body.get("content") and not body.get("embeds"):
            return 400, {}, {"message": "Cannot send an empty message", "code": 50006}
        for i, embed in enumerate(body.get("embeds") or []):
            unknown = set(embed) - _EMBED_KEYS
            if unknown or len(str(embed.get("title", ""))) > 256:
                return 400, {}, {"code": 50035, "message": "Invalid Form Body", "errors": {"embeds": {str(i): {
                    sorted(unknown)[0] if unknown else "title": {"_errors": [
                        {"code": "BASE_TYPE_BAD_LENGTH" if not unknown else "UNKNOWN_FIELD",
                         "message": "Must be 256 or fewer in length." if not unknown else "Unknown field."}]}}}}}
        message = {"id": str(990000 + len(self.posted)), "channel_id": channel, "type": 0, "tts": bool(body.get("tts")),
                   "content": body.get("content", ""), "embeds": body.get("embeds") or [],
                   "timestamp": "2026-01-15T12:00:00.000000+00:00",
                   "author": {"id": webhook or "3001", "username": body.get("username") or "LinkFlowBot",
                              "bot": True}}
        if webhook:
            message["webhook_id"] = webhook
        if body.get("message_reference"):
            message["message_reference"] = {**body["message_reference"], "channel_id": channel}
        self.posted.append(body)
        return 200, {}, message

    def _list(self, request: Request):
        try:
            limit = int(request.query.get("limit", "50"))
        except ValueError:
            limit = 0
        if not 1 <= limit <= 100:
            return 400, {}, {"code": 50035, "message": "Invalid Form Body", "errors": {"limit": {"_errors": [
                {"code": "NUMBER_TYPE_MAX", "message": "int value should be less than or equal to 100."}]}}}
        newest_first = HISTORY[::-1]
        before = request.query.get("before")
        if before:
            newest_first = [m for m in newest_first if int(m["id"]) < int(before)]
        return 200, {}, newest_first[:limit]
