"""A stand-in for SendGrid's Web API v3 on 127.0.0.1, for tests (SendGrid cannot be reached from here).

It answers as https://www.twilio.com/docs/sendgrid/api-reference/mail-send/mail-send documents it (v3):
``POST /v3/mail/send`` with ``Authorization: Bearer KEY`` and the JSON message -> 202, no body, an ``X-Message-Id``
header; a bad message -> 400 ``{"errors": [{"message": "...", "field": "from.email", "help": null}]}``; a wrong
key -> 401 ``{"errors": [{"message": "The provided authorization grant is invalid, expired, or revoked", ...}]}``;
rate limits -> 429 with ``X-RateLimit-Limit``, ``X-RateLimit-Remaining: 0`` and ``X-RateLimit-Reset`` (an epoch
second). ``GET /v3/scopes`` -> ``{"scopes": [...]}``. Mail to ``busy@example.com`` answers 429 once, resetting 2 s later.
"""

from __future__ import annotations

import base64
import binascii
import re
import time

from tests.fakes.http_fake import FakeApi, Request

API_KEY = "SG.test-key"
SEND_ONLY_KEY = "SG.no-mail-send"
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class FakeSendGrid(FakeApi):
    def __init__(self) -> None:
        super().__init__()
        self.mails: list[dict] = []
        self._limited = False

    def answer(self, request: Request):
        key = request.headers.get("authorization", "").removeprefix("Bearer ")
        if key not in (API_KEY, SEND_ONLY_KEY):
            return 401, {}, _errors(("The provided authorization grant is invalid, expired, or revoked", None))
        if request.path == "/v3/scopes" and request.method == "GET":
            return 200, {}, {"scopes": ["mail.send", "scopes.read"] if key == API_KEY else ["scopes.read"]}
        if request.path != "/v3/mail/send" or request.method != "POST":
            return 404, {}, _errors(("resource not found", None))
        if key != API_KEY:
            return 403, {}, _errors(("access forbidden", None))
        mail = request.json() or {}
        problem = _check(mail)
        if problem:
            return 400, {}, _errors(problem)
        if any(to["email"] == "busy@example.com" for p in mail["personalizations"] for to in p["to"]) \
                and not self._limited:
            self._limited = True
            return 429, {"X-RateLimit-Limit": "600", "X-RateLimit-Remaining": "0",
                         "X-RateLimit-Reset": str(int(time.time()) + 2)}, _errors(("too many requests", None))
        self.mails.append(mail)
        return 202, {"X-Message-Id": f"msg-{len(self.mails)}"}, b""


def _check(mail: dict) -> tuple[str, str | None] | None:
    personalizations = mail.get("personalizations")
    if not personalizations:
        return "The personalizations field is required and must have at least one personalization.", "personalizations"
    for i, p in enumerate(personalizations):
        for kind in ("to", "cc", "bcc"):
            for j, address in enumerate(p.get(kind) or []):
                if not _EMAIL.match(address.get("email", "")):
                    return ("Does not contain a valid address.", f"personalizations.{i}.{kind}.{j}.email")
    if not _EMAIL.match((mail.get("from") or {}).get("email", "")):
        return "The from email does not contain a valid address.", "from.email"
    if not mail.get("template_id"):
        if not mail.get("subject"):
            return "The subject is required. You can get around this requirement if you use a template with a " \
                   "subject defined or if every personalization has a subject defined.", "subject"
        if not mail.get("content"):
            return "Unless a valid template_id is provided, the content parameter is required.", "content"
    for i, attachment in enumerate(mail.get("attachments") or []):
        try:
            base64.b64decode(attachment.get("content", ""), validate=True)
        except binascii.Error:
            return "The attachment content must be base64 encoded.", f"attachments.{i}.content"
        if not attachment.get("filename"):
            return "The attachment filename parameter is required.", f"attachments.{i}.filename"
    return None


def _errors(*problems: tuple[str, str | None]) -> dict:
    return {"errors": [{"message": message, "field": field, "help": None} for message, field in problems]}
