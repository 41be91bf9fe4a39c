"""A Telegram bot token (from @BotFather); tested with the Bot API's ``getMe``."""

from __future__ import annotations

from pydantic import Field, SecretStr

from backend.credentials.types._http import request
from backend.credentials.types.base import CredentialFields, CredentialType, TestResult, secret

TELEGRAM_API = "https://api.telegram.org"


class TelegramFields(CredentialFields):
    bot_token: SecretStr = secret(description="The bot's token from @BotFather (123456:ABC-...)")
    api_base_url: str = Field(TELEGRAM_API, description="Bot API base URL (a local Bot API server, a proxy, tests)")


class Telegram(CredentialType):
    type = "telegram"
    display_name = "Telegram (bot token)"
    description = "A Telegram bot's token; the Bot API takes it in the URL path (/bot<token>/method)."
    documentation_url = "https://core.telegram.org/bots/api#authorizing-your-bot"
    Fields = TelegramFields

    def inject(self, values: TelegramFields) -> dict:
        return {"bot_token": values.bot_token.get_secret_value(), "api_base_url": values.api_base_url.rstrip("/")}

    async def test(self, values: TelegramFields) -> TestResult:
        base = values.api_base_url.rstrip("/")
        response = await request("GET", f"{base}/bot{values.bot_token.get_secret_value()}/getMe", headers={},
                                 timeout_s=self.test_timeout_s)
        if isinstance(response, TestResult):  # its message names the host only, never the path with the token
            return TestResult(False, response.message.replace(values.bot_token.get_secret_value(), "<token>"))
        try:
            answer = response.json()
        except ValueError:
            answer = None
        if not isinstance(answer, dict):
            return TestResult(False, f"{base} answered {response.status_code} without the Bot API's JSON; "
                                     "check the API base URL")
        if answer.get("ok") is True:
            bot = answer.get("result") or {}
            return TestResult(True, f"authenticated as @{bot.get('username', '?')} ({bot.get('first_name', '')})")
        return TestResult(False, f"Telegram refused the token ({response.status_code}): "
                                 f"{answer.get('description', 'no description')}")
