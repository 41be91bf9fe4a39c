"""Slack's side of the Events API, for tests (Slack itself cannot reach this machine).

It does what Slack documents: when a Request URL is entered in an app's Event Subscriptions it POSTs a
``url_verification`` request and expects the ``challenge`` back (https://api.slack.com/events/url_verification);
each event is an ``event_callback`` JSON POST (https://api.slack.com/apis/events-api#callback-field), and every
request carries ``X-Slack-Request-Timestamp`` and ``X-Slack-Signature: v0=<hex HMAC-SHA256 of
"v0:<timestamp>:<body>" under the app's signing secret>``
(https://api.slack.com/authentication/verifying-requests-from-slack).

    slack = SlackEvents("8f742231b10e8888abcd99yyyzzz85a5")
    slack.verify_url(url)                  # True when the URL echoed the challenge
    slack.send(url, {"type": "message", "text": "hi"})   # the httpx.Response
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import time

import httpx


class SlackEvents:
    def __init__(self, signing_secret: str, team_id: str = "T0001") -> None:
        self.signing_secret, self.team_id = signing_secret, team_id

    def headers(self, body: bytes, timestamp: int | None = None) -> dict:
        stamp = str(int(time.time()) if timestamp is None else timestamp)
        base = b"v0:" + stamp.encode() + b":" + body
        return {"Content-Type": "application/json", "X-Slack-Request-Timestamp": stamp,
                "X-Slack-Signature": "v0=" + hmac.new(self.signing_secret.encode(), base, hashlib.sha256).hexdigest()}

    def verify_url(self, url: str) -> bool:
        challenge = secrets.token_urlsafe(24)
        body = json.dumps({"token": "deprecated", "challenge": challenge, "type": "url_verification"}).encode()
        answer = httpx.post(url, content=body, headers=self.headers(body), timeout=30)
        return answer.status_code == 200 and answer.json().get("challenge") == challenge

    def callback(self, event: dict) -> bytes:
        return json.dumps({"token": "deprecated", "team_id": self.team_id, "api_app_id": "A0001",
                           "event": event, "type": "event_callback", "event_id": f"Ev{secrets.token_hex(5)}",
                           "event_time": int(time.time())}).encode()

    def send(self, url: str, event: dict, *, timestamp: int | None = None) -> httpx.Response:
        body = self.callback(event)
        return httpx.post(url, content=body, headers=self.headers(body, timestamp), timeout=30)
