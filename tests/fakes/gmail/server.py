"""A stand-in for the Gmail API v1 on 127.0.0.1, for tests (Google cannot be reached from here).

Follows https://developers.google.com/gmail/api/reference/rest (v1): ``users.messages.send`` (``POST
/gmail/v1/users/me/messages/send`` with ``{"raw": base64url RFC 822, "threadId"?}``, answering ``{id, threadId,
labelIds}``), ``users.messages.get`` (``format`` full / metadata / minimal; metadata answers every header, as
the shared handler keeps one value of the repeated ``metadataHeaders``; the
``payload`` MessagePart tree: ``partId``, ``mimeType``, ``filename``, ``headers``, ``body {size, data |
attachmentId}``, ``parts``), ``users.messages.attachments.get`` (``{size, data}``), ``users.messages.list``
(``q``, ``labelIds``, ``maxResults`` (default 100, at most 500), ``pageToken`` -> ``{messages: [{id, threadId}],
nextPageToken, resultSizeEstimate}``), ``users.messages.delete`` (204), ``users.messages.modify``
(``addLabelIds`` / ``removeLabelIds``) and ``users.labels.list``. Callers send ``Authorization: Bearer TOKEN``.
Errors are Google's ``{"error": {"code", "message", "status"}}``: 401 ``UNAUTHENTICATED``, 404 ``NOT_FOUND``,
400 ``INVALID_ARGUMENT`` "Invalid To header" for a recipient without ``@``. A list whose ``q`` holds ``busy``
is answered once with 429 ``RESOURCE_EXHAUSTED`` and ``Retry-After: 1``. The search ``q`` is a plain substring
of the subject, sender or snippet here (Gmail's operators are not imitated).

Every message sent is kept parsed (``sent``: the ``email.message.EmailMessage``), so tests check its headers,
bodies and attachments as a receiving mail server would see them.
"""

from __future__ import annotations

import base64
import itertools
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default
from email.utils import getaddresses

from tests.fakes.http_fake import FakeApi, Request

TOKEN = "ya29.test-gmail-token"
LABELS = [{"id": "INBOX", "name": "INBOX", "type": "system"}, {"id": "UNREAD", "name": "UNREAD", "type": "system"},
          {"id": "SENT", "name": "SENT", "type": "system"}, {"id": "Label_1", "name": "Invoices", "type": "user"}]


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _error(code: int, status: str, message: str):
    return code, {}, {"error": {"code": code, "message": message, "status": status}}


class FakeGmail(FakeApi):
    def __init__(self) -> None:
        super().__init__()
        self.messages: dict[str, dict] = {}  # id -> {id, threadId, labelIds, mime: EmailMessage}
        self.attachments: dict[str, bytes] = {}
        self.sent: list[EmailMessage] = []
        self._ids = itertools.count(1)

    @property
    def url(self) -> str:
        return self.origin + "/gmail/v1"

    def add(self, raw: bytes, labels: list[str] | None = None, thread_id: str | None = None) -> str:
        """A message in the mailbox (as if received), its id returned."""
        message_id = f"18c{next(self._ids):013x}"
        self.messages[message_id] = {"id": message_id, "threadId": thread_id or message_id,
                                     "labelIds": list(labels or ["INBOX", "UNREAD"]),
                                     "mime": message_from_bytes(raw, policy=default)}
        return message_id

    def answer(self, request: Request):
        method, path, query, body = request.method, request.path, request.query, request.data()
        if (request.headers.get("authorization") or "") != f"Bearer {TOKEN}":
            return _error(401, "UNAUTHENTICATED", "Request had invalid authentication credentials. Expected OAuth 2 "
                                                  "access token, login cookie or other valid authentication "
                                                  "credential.")
        rest = path.removeprefix("/gmail/v1/users/me")
        if rest == "/labels" and method == "GET":
            return 200, {}, {"labels": LABELS}
        if rest == "/messages/send" and method == "POST":
            return self._send(body or {})
        if rest == "/messages" and method == "GET":
            return self._list(query)
        parts = rest.split("/")  # ["", "messages", id, ...]
        if len(parts) < 3 or parts[1] != "messages" or parts[2] not in self.messages:
            return _error(404, "NOT_FOUND", "Requested entity was not found.")
        stored = self.messages[parts[2]]
        if len(parts) == 3 and method == "GET":
            return 200, {}, self._resource(stored, query.get("format", "full"))
        if len(parts) == 3 and method == "DELETE":
            del self.messages[parts[2]]
            return 204, {}, None
        if parts[3:] == ["modify"] and method == "POST":
            labels = [x for x in stored["labelIds"] if x not in (body or {}).get("removeLabelIds", [])]
            labels += [x for x in (body or {}).get("addLabelIds", []) if x not in labels]
            stored["labelIds"] = labels
            return 200, {}, {"id": stored["id"], "threadId": stored["threadId"], "labelIds": labels}
        if len(parts) == 5 and parts[3] == "attachments" and parts[4] in self.attachments:
            data = self.attachments[parts[4]]
            return 200, {}, {"size": len(data), "data": _b64(data)}
        return _error(404, "NOT_FOUND", "Requested entity was not found.")

    def _send(self, body: dict):
        raw = body.get("raw")
        if not isinstance(raw, str):
            return _error(400, "INVALID_ARGUMENT", "'raw' RFC822 payload message string or uploading message via "
                                                   "/upload/* URL required")
        mime = message_from_bytes(base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)), policy=default)
        recipients = getaddresses([str(mime[h]) for h in ("To", "Cc", "Bcc") if mime[h]])
        if not recipients or any("@" not in address for _, address in recipients):
            return _error(400, "INVALID_ARGUMENT", "Invalid To header")
        self.sent.append(mime)
        thread = body.get("threadId")
        if thread is not None and not any(m["threadId"] == thread for m in self.messages.values()):
            return _error(404, "NOT_FOUND", "Requested entity was not found.")
        message_id = self.add(mime.as_bytes(), ["SENT"], thread)
        stored = self.messages[message_id]
        return 200, {}, {"id": message_id, "threadId": stored["threadId"], "labelIds": stored["labelIds"]}

    def _list(self, query: dict):
        q = (query.get("q") or "").lower()
        if "busy" in q and self.once("GET", "/messages?q=busy"):
            return 429, {"Retry-After": "1"}, {"error": {"code": 429, "status": "RESOURCE_EXHAUSTED",
                                                         "message": "Too many concurrent requests for user."}}
        found = [m for m in self.messages.values()
                 if (not query.get("labelIds") or query["labelIds"] in m["labelIds"])
                 and (not q or "busy" in q or any(q in str(m["mime"][h] or "").lower() for h in ("Subject", "From"))
                      or q in self._snippet(m["mime"]).lower())]
        size = min(int(query.get("maxResults") or 100), 500)
        start = int(query.get("pageToken") or 0)
        page = found[start:start + size]
        answer: dict = {"resultSizeEstimate": len(found)}
        if page:
            answer["messages"] = [{"id": m["id"], "threadId": m["threadId"]} for m in page]
        if start + size < len(found):
            answer["nextPageToken"] = str(start + size)
        return 200, {}, answer

    @staticmethod
    def _snippet(mime: EmailMessage) -> str:
        part = mime.get_body(("plain", "html"))
        return " ".join(part.get_content().split())[:200] if part is not None else ""

    def _resource(self, stored: dict, fmt: str) -> dict:
        mime = stored["mime"]
        out = {"id": stored["id"], "threadId": stored["threadId"], "labelIds": stored["labelIds"],
               "snippet": self._snippet(mime), "sizeEstimate": len(mime.as_bytes())}
        if fmt == "minimal":
            return out
        out["payload"] = self._part(mime, "", fmt == "full")
        return out

    def _part(self, mime: EmailMessage, part_id: str, full: bool) -> dict:
        part: dict = {"partId": part_id, "mimeType": mime.get_content_type(), "filename": mime.get_filename() or "",
                      "headers": [{"name": k, "value": str(v)} for k, v in mime.items()]}
        if not full:
            return part
        if mime.is_multipart():
            part["body"] = {"size": 0}
            part["parts"] = [self._part(child, f"{part_id}.{n}" if part_id else str(n), True)
                             for n, child in enumerate(mime.iter_parts())]
        else:
            data = mime.get_payload(decode=True) or b""
            if mime.get_filename():
                attachment_id = f"ANGjdJ{len(self.attachments)}"
                self.attachments[attachment_id] = data
                part["body"] = {"size": len(data), "attachmentId": attachment_id}
            else:
                part["body"] = {"size": len(data), "data": _b64(data)}
        return part
