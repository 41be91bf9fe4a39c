"""A stand-in for Twilio's REST API 2010-04-01 on 127.0.0.1, for tests (Twilio cannot be reached from here).

It answers as https://www.twilio.com/docs/messaging/api/message-resource documents it: HTTP Basic auth with the
account SID (or an API key SID) and the auth token; ``GET /2010-04-01/Accounts/{Sid}.json`` (the Account);
``POST /2010-04-01/Accounts/{Sid}/Messages.json`` (form-encoded ``To``, ``From`` or ``MessagingServiceSid``,
``Body``, ``MediaUrl``) -> 201 and a Message resource; ``GET .../Messages.json?To=&From=&PageSize=`` -> a page
``{"messages": [...], "next_page_uri": "/2010-04-01/...&Page=1&PageToken=PA...", "page", "page_size", ...}``.
Errors: ``{"code": 21211, "message": "The 'To' number 123 is not a valid phone number.", "more_info":
"https://www.twilio.com/docs/errors/21211", "status": 400}``; a wrong login gets 401 code 20003; sending to
``+15550000429`` answers 429 code 20429 (``Retry-After: 1``) once before it is accepted.
"""

from __future__ import annotations

import base64
import re

from tests.fakes.http_fake import FakeApi, Request

ACCOUNT_SID = "AC" + "0123456789abcdef" * 2
AUTH_TOKEN = "twilio-test-token"
NUMBER = "+15017122661"
_E164 = re.compile(r"^(whatsapp:)?\+[1-9]\d{6,14}$")
HISTORY = [{"sid": f"SM{n:032x}", "account_sid": ACCOUNT_SID, "from": NUMBER, "to": f"+1555000{n:04d}",
            "body": f"message {n}", "status": "delivered", "direction": "outbound-api", "num_segments": "1",
            "date_created": "Thu, 15 Jan 2026 12:00:00 +0000"} for n in range(120, 0, -1)]  # newest first


class FakeTwilio(FakeApi):
    def __init__(self) -> None:
        super().__init__()
        self.sent: list[dict] = []
        self._limited = False

    def answer(self, request: Request):
        login = base64.b64encode(f"{ACCOUNT_SID}:{AUTH_TOKEN}".encode()).decode()
        if request.headers.get("authorization") != f"Basic {login}":
            return 401, {}, _error(20003, "Authenticate", 401)
        prefix = f"/2010-04-01/Accounts/{ACCOUNT_SID}"
        if request.path == prefix + ".json" and request.method == "GET":
            return 200, {}, {"sid": ACCOUNT_SID, "friendly_name": "LinkFlow test", "status": "active",
                             "type": "Full"}
        if request.path != prefix + "/Messages.json":
            return 404, {}, _error(20404, f"The requested resource {request.path} was not found", 404)
        return self._send(request.form()) if request.method == "POST" else self._list(request.query, prefix)

    def _send(self, form: dict):
        to, sender = form.get("To", ""), form.get("From", "")
        if not to:
            return 400, {}, _error(21604, "A 'To' phone number is required.")
        if not _E164.match(to):
            return 400, {}, _error(21211, f"The 'To' number {to} is not a valid phone number.")
        if not sender and not form.get("MessagingServiceSid"):
            return 400, {}, _error(21603, "A 'From' phone number is required.")
        if sender and sender.removeprefix("whatsapp:") != NUMBER:
            return 400, {}, _error(21659, f"'From' {sender} is not a Twilio phone number or Short Code country "
                                          "mismatch")
        if not form.get("Body") and not form.get("MediaUrl"):
            return 400, {}, _error(21602, "Message body is required.")
        if to == "+15550000429" and not self._limited:
            self._limited = True
            return 429, {"Retry-After": "1"}, _error(20429, "Too Many Requests", 429)
        sid = f"SM{len(self.sent) + 1:032x}"
        self.sent.append(form)
        return 201, {}, {"sid": sid, "account_sid": ACCOUNT_SID, "to": to, "from": sender or None,
                         "messaging_service_sid": form.get("MessagingServiceSid"), "body": form.get("Body", ""),
                         "status": "queued", "direction": "outbound-api", "num_media": "1" if form.get("MediaUrl")
                         else "0", "num_segments": "1", "price": None, "error_code": None,
                         "date_created": "Thu, 15 Jan 2026 12:00:00 +0000",
                         "uri": f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages/{sid}.json"}

    def _list(self, query: dict, prefix: str):
        rows = [m for m in HISTORY if (not query.get("To") or m["to"] == query["To"])
                and (not query.get("From") or m["from"] == query["From"])]
        size = min(int(query.get("PageSize") or 50), 1000)
        page = int(query.get("Page") or 0)
        if page and query.get("PageToken") != f"PA{page * size}":
            return 400, {}, _error(20001, "Invalid PageToken")
        chunk = rows[page * size:(page + 1) * size]
        base = f"{prefix}/Messages.json?PageSize={size}"
        following = f"{base}&Page={page + 1}&PageToken=PA{(page + 1) * size}" if (page + 1) * size < len(rows) else None
        return 200, {}, {"messages": chunk, "page": page, "page_size": size, "start": page * size,
                         "end": page * size + len(chunk) - 1, "first_page_uri": f"{base}&Page=0",
                         "next_page_uri": following, "previous_page_uri": None, "uri": f"{base}&Page={page}"}


def _error(code: int, message: str, status: int = 400) -> dict:
    return {"code": code, "message": message, "more_info": f"https://www.twilio.com/docs/errors/{code}",
            "status": status}
