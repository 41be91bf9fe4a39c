"""The Slack Trigger: Slack Events API events (message, app_mention, reaction_added...) start the workflow.

Like n8n's Slack Trigger. Slack has no API to set an app's event URL: after activating, paste the URL the
trigger's status shows (the editor's node, or ``GET /api/v1/workflows/{id}/triggers``) into the app's
"Event Subscriptions" page; Slack then sends a ``url_verification`` request, which is answered with its
``challenge`` (https://api.slack.com/events/url_verification). The credential is the Slack one with the app's
**signing secret** filled in (Basic Information > App Credentials); it is copied at activation, so activate
again after changing it.

Every request's ``X-Slack-Signature`` (``v0=`` and the hex HMAC-SHA256 of ``v0:<X-Slack-Request-Timestamp>:<raw
body>`` under the signing secret, https://api.slack.com/authentication/verifying-requests-from-slack) is checked
before the body is read, and a timestamp more than five minutes from now is refused (a replay). ``events``
filters the inner event's ``type`` (``*``: all). The item is Slack's event (``event`` of the callback), with
``event_id``, ``team_id`` and ``event_time`` of the callback beside it.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Mapping
from typing import Any

from pydantic import Field, field_validator

from nodes.sdk import NodeParameters
from nodes.sdk.vendor_webhook import Registration, VendorRefused, VendorWebhookTrigger, same

TOLERANCE_S = 300  # Slack's advice: five minutes
_EVENT = re.compile(r"^(\*|[a-z_]{1,60})$")


class SlackTriggerParameters(NodeParameters):
    events: list[str] = Field(["*"], min_length=1, max_length=100,
                              description="Event types, e.g. message, app_mention, reaction_added; '*' for all")

    @field_validator("events")
    @classmethod
    def _events(cls, value: list[str]) -> list[str]:
        bad = [event for event in value if not _EVENT.match(event)]
        if bad:
            raise ValueError(f"not Slack event types: {', '.join(map(repr, bad))} (e.g. 'message' or '*')")
        return sorted(set(value))


class SlackTrigger(VendorWebhookTrigger):
    type = "slack_trigger"
    display_name = "Slack Trigger"
    vendor = "Slack"
    icon = "message-square"
    description = "Starts the workflow on Slack Events API events, checked with the app's signing secret."
    Parameters = SlackTriggerParameters
    credential_slots = {"slack": ("slack",)}

    def register(self, http, login, params, url, secret):
        signing_secret = login.get("signing_secret") or ""
        if not signing_secret:
            raise VendorRefused("the Slack credential has no signing secret: copy it from the Slack app's Basic "
                                "Information page into the credential, then activate again")
        return Registration(external_id="", secret=signing_secret)

    def unregister(self, http, login, params, registration):
        return None  # the URL lives in the Slack app's settings; requests to it now find no workflow (404)

    def refusal(self, headers: Mapping[str, str], body: bytes, secret: str, now: float,
                params: NodeParameters) -> str | None:
        stamp, given = headers.get("x-slack-request-timestamp", ""), headers.get("x-slack-signature")
        if not given or not stamp:
            return "no X-Slack-Signature or X-Slack-Request-Timestamp header"
        if not stamp.isdigit() or abs(now - int(stamp)) > TOLERANCE_S:
            return f"X-Slack-Request-Timestamp is more than {TOLERANCE_S} s away from now (a replay?)"
        expected = "v0=" + hmac.new(secret.encode(), b"v0:" + stamp.encode() + b":" + body, hashlib.sha256).hexdigest()
        return None if same(given, expected) else "X-Slack-Signature does not match the body"

    def handshake(self, headers, document) -> tuple[int, Any] | None:
        if isinstance(document, dict) and document.get("type") == "url_verification":
            return 200, {"challenge": str(document.get("challenge", ""))}
        return None

    def wanted(self, headers, document, params) -> bool:
        event = document.get("event") if isinstance(document, dict) else None
        return isinstance(event, dict) and ("*" in params.events or event.get("type") in params.events)

    def item(self, request: dict) -> dict:
        body = request["body"]
        return {**body["event"], **{key: body[key] for key in ("event_id", "team_id", "event_time") if key in body}}
