"""The Twilio node: send an SMS or WhatsApp message, list messages.

Shaped like n8n's Twilio node (``resource`` + ``operation``), calling Twilio's REST API 2010-04-01
(https://www.twilio.com/docs/messaging/api/message-resource) with the ``twilio`` credential (HTTP Basic auth,
form-encoded requests):

* sms ``send`` (``POST /2010-04-01/Accounts/{AccountSid}/Messages.json``: ``To``, ``From`` or
  ``MessagingServiceSid``, ``Body``, ``MediaUrl``, ``StatusCallback``); ``to_whatsapp`` prefixes both numbers with
  ``whatsapp:``. The output is Twilio's Message resource (``sid``, ``status``...).
* sms ``get_all`` (``GET .../Messages.json``, optional ``To``/``From`` filters): one item per message, newest
  first, following Twilio's ``next_page_uri`` page by page (``PageSize`` up to 1000) up to ``limit``
  (``return_all``: at most 10,000).

Errors quote Twilio's ``message`` and ``code`` (``Twilio refused POST /2010-04-01/Accounts/AC.../Messages.json
(400): The 'To' number 123 is not a valid phone number. (code 21211)``). A 429 (code 20429) is waited out as
``Retry-After`` says (1 s if it does not), up to 30 s, 3 times, then reported as transient, as are 5xx answers.
Calls go through the platform's address policy.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, model_validator

from nodes.sdk import Node, NodeParameters, NodeTransientError, NodeUserError
from nodes.sdk.saas_http import SaasClient, collect, dig, saas_client

MAX_ITEMS = 10_000
PAGE_SIZE = 1000  # Twilio's maximum PageSize


class TwilioParameters(NodeParameters):
    resource: Literal["sms"] = Field("sms", description="What to work with")
    operation: Literal["send", "get_all"] = Field("send", description="send: one message; get_all: list messages")
    from_number: str = Field("", max_length=64,
                       description="send: the sender (+E.164 number, short code or alphanumeric id); get_all: filter")
    messaging_service_sid: str = Field("", pattern=r"^(MG[0-9a-fA-F]{32})?$",
                                       description="send: a Messaging Service (MG...) instead of from_number")
    to: str = Field("", max_length=64, description="send: the recipient (+E.164); get_all: filter")
    message: str = Field("", max_length=1600, description="send: the text (up to 1600 characters)")
    media_url: str = Field("", max_length=2048, description="send: a picture or file URL (MMS/WhatsApp)")
    to_whatsapp: bool = Field(False, description="send: through WhatsApp (prefixes whatsapp: to both numbers)")
    status_callback: str = Field("", max_length=2048, description="send: Twilio posts status changes here")
    return_all: bool = Field(False, description="get_all: every page")
    limit: int = Field(50, ge=1, le=MAX_ITEMS, description="get_all: at most this many messages")

    @model_validator(mode="after")
    def _fits(self) -> TwilioParameters:
        if self.operation == "send":
            if not self.to:
                raise ValueError("send needs to (the recipient's number)")
            if not (self.from_number or self.messaging_service_sid):
                raise ValueError("send needs from_number (a Twilio number) or messaging_service_sid")
            if not (self.message or self.media_url):
                raise ValueError("send needs message or media_url")
        return self


class Twilio(Node):
    """One Twilio call (or one paged listing) per item."""

    type = "twilio"
    display_name = "Twilio"
    group = "integration"
    icon = "smartphone"
    description = "Send SMS and WhatsApp messages with Twilio, list sent and received messages."
    Parameters = TwilioParameters
    credential_slots = {"twilio": ("twilio",)}
    side_effects = True

    async def execute(self, ctx, items):
        login = await ctx.credentials("twilio")
        base = login.get("api_base_url", "https://api.twilio.com").rstrip("/")
        messages = f"{base}/2010-04-01/Accounts/{login['account_sid']}/Messages.json"
        async with saas_client(ctx, "Twilio", headers=login["headers"], error_text=_error) as api:
            out: list[dict] = []
            for index in range(len(items)):
                try:
                    out += await _one(api, base, messages, ctx.params(index))
                except (NodeUserError, NodeTransientError) as exc:
                    exc.item_index = index
                    raise
            return out


def _error(body: Any) -> str | None:
    message, code = dig(body, "message"), dig(body, "code")
    return f"{message}" + (f" (code {code})" if code else "") if message else None


async def _one(api: SaasClient, base: str, messages: str, p: TwilioParameters) -> list[dict]:
    if p.operation == "send":
        prefix = "whatsapp:" if p.to_whatsapp else ""
        form = {"To": _with(prefix, p.to)}
        if p.messaging_service_sid:
            form["MessagingServiceSid"] = p.messaging_service_sid
        if p.from_number:
            form["From"] = _with(prefix, p.from_number)
        if p.message:
            form["Body"] = p.message
        if p.media_url:
            form["MediaUrl"] = p.media_url
        if p.status_callback:
            form["StatusCallback"] = p.status_callback
        return [{"json": await api.call("POST", messages, data=form)}]
    limit = MAX_ITEMS if p.return_all else p.limit
    filters = {k: v for k, v in (("To", p.to), ("From", p.from_number)) if v}

    async def page(next_uri: str | None) -> tuple[list, str | None]:
        if next_uri:  # Twilio's next_page_uri is a path with every query parameter the next page needs
            answer = await api.call("GET", base + next_uri)
        else:
            answer = await api.call("GET", messages, params={**filters, "PageSize": min(PAGE_SIZE, limit)})
        rows = dig(answer, "messages")
        if not isinstance(rows, list):
            raise NodeUserError("Twilio answered a message list without 'messages'; check the API base URL")
        following = dig(answer, "next_page_uri")
        if following and not str(following).startswith("/2010-04-01/"):
            raise NodeUserError(f"Twilio's next_page_uri {str(following)[:100]!r} is not an API path; not followed")
        return rows, following or None

    return [{"json": m} for m in await collect(page, limit)]


def _with(prefix: str, number: str) -> str:
    return number if not prefix or number.startswith(prefix) else prefix + number
