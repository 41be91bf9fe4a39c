"""The Telegram Trigger: updates to a Telegram bot (messages, edited messages, callback queries...) start the workflow.

Like n8n's Telegram Trigger: ``updates`` lists the update kinds (``*`` for all). Activating the workflow calls the
Bot API's ``setWebhook`` (https://core.telegram.org/bots/api#setwebhook) with this workflow's URL, the kinds as
``allowed_updates`` and a random ``secret_token`` LinkFlow keeps encrypted; deactivating calls ``deleteWebhook``.
A bot has one webhook: activating a second workflow with the same bot takes the updates away from the first.

Telegram sends the secret back in ``X-Telegram-Bot-Api-Secret-Token`` with every update; a request without it or
with another value is refused with 401 before the body is read (Telegram signs nothing else, so the secret
header is what proves the caller). The item is the update; the header is redacted from it.
"""

from __future__ import annotations

from collections.abc import Mapping

from pydantic import Field, field_validator

from nodes.sdk import NodeParameters
from nodes.sdk.vendor_webhook import Registration, VendorRefused, VendorWebhookTrigger, same, vendor_answer

UPDATE_KINDS = ("message", "edited_message", "channel_post", "edited_channel_post", "business_message",
                "inline_query", "chosen_inline_result", "callback_query", "shipping_query", "pre_checkout_query",
                "poll", "poll_answer", "my_chat_member", "chat_member", "chat_join_request", "message_reaction")


class TelegramTriggerParameters(NodeParameters):
    updates: list[str] = Field(["*"], min_length=1, max_length=len(UPDATE_KINDS) + 1,
                               description="Update kinds, e.g. message, callback_query; '*' for all")

    @field_validator("updates")
    @classmethod
    def _updates(cls, value: list[str]) -> list[str]:
        bad = [kind for kind in value if kind != "*" and kind not in UPDATE_KINDS]
        if bad:
            raise ValueError(f"not Telegram update kinds: {', '.join(map(repr, bad))} (choose from "
                             f"{', '.join(UPDATE_KINDS)}, or '*')")
        return sorted(set(value))


class TelegramTrigger(VendorWebhookTrigger):
    type = "telegram_trigger"
    display_name = "Telegram Trigger"
    vendor = "Telegram"
    icon = "send"
    description = "Starts the workflow on updates to a Telegram bot; sets and deletes the bot's webhook itself."
    Parameters = TelegramTriggerParameters
    credential_slots = {"telegram": ("telegram",)}
    secret_header = "X-Telegram-Bot-Api-Secret-Token"

    def register(self, http, login, params, url, secret):
        allowed = [] if "*" in params.updates else params.updates  # [] is every kind but a few, as Telegram says
        response = http.post(_method(login, "setWebhook"), json={
            "url": url, "secret_token": secret, "allowed_updates": allowed, "drop_pending_updates": False})
        answer = vendor_answer("Telegram", "setWebhook", response)
        if not isinstance(answer, dict) or answer.get("ok") is not True:
            raise VendorRefused(f"Telegram refused setWebhook: {(answer or {}).get('description', 'no reason')}")
        return Registration(external_id="", secret=secret)

    def unregister(self, http, login, params, registration):
        vendor_answer("Telegram", "deleteWebhook", http.post(_method(login, "deleteWebhook"), json={}))

    def refusal(self, headers: Mapping[str, str], body: bytes, secret: str, now: float,
                params: NodeParameters) -> str | None:
        given = headers.get("x-telegram-bot-api-secret-token")
        if not given:
            return "no X-Telegram-Bot-Api-Secret-Token header"
        return None if same(given, secret) else "X-Telegram-Bot-Api-Secret-Token is not this trigger's secret"

    def wanted(self, headers, document, params) -> bool:
        return "*" in params.updates or (isinstance(document, dict) and any(k in document for k in params.updates))


def _method(login: dict, name: str) -> str:
    return f"{str(login.get('api_base_url') or 'https://api.telegram.org').rstrip('/')}/bot{login['bot_token']}/{name}"
