"""A Telegram bot token (from @BotFather); tested with the Bot API's ``getMe``."""

from __future__ import annotations

from pydantic import Field, SecretStr

from backend.credentials.types._http import request
from backend.credentials.types.base import CredentialFields, CredentialType, TestResult, secret

TELEGRAM_API = "https://api.telegram.org"


class TelegramFields(CredentialFields):
    bot_token: SecretStr = secret(description="The bot's token, e.g. 123456:ABC-DEF...")
    api_base_url: str = Field(TELEGRAM_API, description="Bot API base URL (a local Bot API server, or tests)")


class Telegram(CredentialType):
    type = "telegram"
    display_name = "Telegram (bot)"
    description = "A Telegram bot's token; the Bot API takes it in the URL path."
    documentation_url = "https://core.telegram.org/bots/api#authorizing-your-bot"
    Fields = TelegramFields

    def inject(self, values: TelegramFields) -> dict:
        return {"bot_token": values.bot_token.get_secret_value(), "api_base_url": values.api_base_url.rstrip("/")}

    async def test(self, values: TelegramFields) -> TestResult:
        base = values.api_base_url.rstrip("/")
        # The token is part of the path: messages name the host only, never the URL.
        token = values.bot_token.get_secret_value()
        response = await request("GET", f"{base}/bot{token}/getMe", headers={}, timeout_s=self.test_timeout_s)
        if isinstance(response, TestResult):  # the reason, with the URL's token blanked out
            return TestResult(False, response.message.replace(token, "***"))
        try:
            answer = response.json()
        except ValueError:
            answer = {}
        if isinstance(answer, dict) and answer.get("ok") is True:
            return TestResult(True, f"bot @{(answer.get('result') or {}).get('username', '?')}")
        description = answer.get("description", "no reason given") if isinstance(answer, dict) else "no JSON"
        return TestResult(False, f"Telegram refused the token ({response.status_code}): {description}")
