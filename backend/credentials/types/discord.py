"""Discord: a channel's webhook URL (send only) or a bot token (send and read); tested against Discord's API."""

from __future__ import annotations

from pydantic import Field, SecretStr

from backend.credentials.types._http import request, shown_url
from backend.credentials.types.base import CredentialFields, CredentialType, TestResult, secret

DISCORD_API = "https://discord.com/api/v10"


class DiscordWebhookFields(CredentialFields):
    webhook_url: SecretStr = secret(description="The channel webhook's URL (https://discord.com/api/webhooks/ID/TOKEN)")


class DiscordWebhook(CredentialType):
    type = "discord_webhook"
    display_name = "Discord (webhook URL)"
    description = "A Discord channel webhook: whoever has the URL can post to that channel."
    documentation_url = "https://discord.com/developers/docs/resources/webhook#execute-webhook"
    Fields = DiscordWebhookFields

    def inject(self, values: DiscordWebhookFields) -> dict:
        return {"kind": "webhook", "webhook_url": values.webhook_url.get_secret_value()}

    async def test(self, values: DiscordWebhookFields) -> TestResult:
        url = values.webhook_url.get_secret_value()  # GET on a webhook URL returns the webhook, without posting
        response = await request("GET", url, headers={}, timeout_s=10)
        if isinstance(response, TestResult):
            return TestResult(False, response.message.replace(_token_of(url), "<token>"))
        answer = _json(response)
        if response.status_code == 200 and answer.get("id"):
            return TestResult(True, f"webhook {answer.get('name', '?')!r} of channel {answer.get('channel_id', '?')}")
        return TestResult(False, f"Discord answered {response.status_code}: {answer.get('message', 'no message')}; "
                                 "check the webhook URL")


class DiscordBotFields(CredentialFields):
    bot_token: SecretStr = secret(description="The application's bot token (Developer Portal > Bot)")
    api_base_url: str = Field(DISCORD_API, description="Discord API base URL (change only for a proxy or tests)")


class DiscordBot(CredentialType):
    type = "discord_bot"
    display_name = "Discord (bot token)"
    description = "A Discord bot's token, sent as 'Authorization: Bot <token>'."
    documentation_url = "https://discord.com/developers/docs/reference#authentication"
    Fields = DiscordBotFields

    def inject(self, values: DiscordBotFields) -> dict:
        return {"kind": "bot", "headers": {"Authorization": f"Bot {values.bot_token.get_secret_value()}"},
                "api_base_url": values.api_base_url.rstrip("/")}

    async def test(self, values: DiscordBotFields) -> TestResult:
        url = values.api_base_url.rstrip("/") + "/users/@me"
        response = await request("GET", url, headers=self.inject(values)["headers"], timeout_s=self.test_timeout_s)
        if isinstance(response, TestResult):
            return response
        answer = _json(response)
        if response.status_code == 200:
            return TestResult(True, f"authenticated as bot {answer.get('username', '?')}")
        return TestResult(False, f"{shown_url(url)} answered {response.status_code}: "
                                 f"{answer.get('message', 'no message')}; check the token")


def _token_of(url: str) -> str:
    return url.rstrip("/").rsplit("/", 1)[-1] or url


def _json(response) -> dict:
    try:
        answer = response.json()
    except ValueError:
        return {}
    return answer if isinstance(answer, dict) else {}
