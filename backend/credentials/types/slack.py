"""A Slack bot token; tested with Slack's ``auth.test`` method."""

from __future__ import annotations

from pydantic import Field, SecretStr

from backend.credentials.types._http import request, shown_url
from backend.credentials.types.base import CredentialFields, CredentialType, TestResult, secret

SLACK_API = "https://slack.com/api"


class SlackFields(CredentialFields):
    bot_token: SecretStr = secret(description="Bot User OAuth Token (starts with xoxb-)")
    signing_secret: SecretStr = secret(SecretStr(""), description="The app's signing secret (Basic Information > "
                                       "App Credentials); only the Slack Trigger needs it")
    api_base_url: str = Field(SLACK_API, description="Slack Web API base URL (change only for a proxy or tests)")


class Slack(CredentialType):
    type = "slack"
    display_name = "Slack (bot token)"
    description = "A Slack app's bot token, sent as a bearer token to the Slack Web API."
    documentation_url = "https://api.slack.com/authentication/token-types#bot"
    Fields = SlackFields

    def inject(self, values: SlackFields) -> dict:
        """The bearer header (what HTTP Request applies) and the API's base URL (what the Slack node calls)."""
        return {"headers": {"Authorization": f"Bearer {values.bot_token.get_secret_value()}"},
                "api_base_url": values.api_base_url.rstrip("/"),
                **({"signing_secret": values.signing_secret.get_secret_value()}
                   if values.signing_secret.get_secret_value() else {})}

    async def test(self, values: SlackFields) -> TestResult:
        url = values.api_base_url.rstrip("/") + "/auth.test"
        response = await request("POST", url, headers=self.inject(values)["headers"], timeout_s=self.test_timeout_s)
        if isinstance(response, TestResult):
            return response
        try:
            answer = response.json()
        except ValueError:
            answer = None
        if not isinstance(answer, dict):
            return TestResult(False, f"{shown_url(url)} answered {response.status_code} without Slack's JSON")
        if answer.get("ok") is True:
            return TestResult(True, f"authenticated as {answer.get('user', '?')} in team {answer.get('team', '?')}")
        return TestResult(False, f"Slack refused the token: {answer.get('error', 'unknown error')}")
