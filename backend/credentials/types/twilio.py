"""A Twilio account SID with its auth token (or an API key SID and secret); tested by reading the account."""

from __future__ import annotations

import base64

from pydantic import Field, SecretStr

from backend.credentials.types._http import request, shown_url
from backend.credentials.types.base import CredentialFields, CredentialType, TestResult, secret

TWILIO_API = "https://api.twilio.com"


class TwilioFields(CredentialFields):
    account_sid: str = Field(min_length=34, max_length=34, pattern=r"^AC[0-9a-fA-F]{32}$",
                             description="Account SID (AC followed by 32 hex digits)")
    auth_token: SecretStr = secret(description="The account's auth token (or an API key's secret)")
    api_key_sid: str = Field("", pattern=r"^(SK[0-9a-fA-F]{32})?$",
                             description="Optional: an API key SID (SK...) to log in with instead of the account SID")
    api_base_url: str = Field(TWILIO_API, description="Twilio API base URL (change only for a proxy or tests)")


class Twilio(CredentialType):
    type = "twilio"
    display_name = "Twilio"
    description = "A Twilio account SID and auth token (or API key), sent as HTTP Basic auth."
    documentation_url = "https://www.twilio.com/docs/usage/requests-to-twilio#authenticate-with-http"
    Fields = TwilioFields

    def inject(self, values: TwilioFields) -> dict:
        pair = f"{values.api_key_sid or values.account_sid}:{values.auth_token.get_secret_value()}".encode()
        return {"headers": {"Authorization": "Basic " + base64.b64encode(pair).decode()},
                "account_sid": values.account_sid, "api_base_url": values.api_base_url.rstrip("/")}

    async def test(self, values: TwilioFields) -> TestResult:
        url = f"{values.api_base_url.rstrip('/')}/2010-04-01/Accounts/{values.account_sid}.json"
        response = await request("GET", url, headers=self.inject(values)["headers"], timeout_s=self.test_timeout_s)
        if isinstance(response, TestResult):
            return response
        try:
            answer = response.json()
        except ValueError:
            answer = {}
        answer = answer if isinstance(answer, dict) else {}
        if response.status_code == 200:
            return TestResult(True, f"account {answer.get('friendly_name', '?')!r} ({answer.get('status', '?')})")
        return TestResult(False, f"{shown_url(url)} answered {response.status_code}: "
                                 f"{answer.get('message', 'no message')}; check the SID and token")
