"""A SendGrid API key; tested by reading the key's scopes (and saying whether it may send mail)."""

from __future__ import annotations

from pydantic import Field, SecretStr

from backend.credentials.types._http import request, shown_url
from backend.credentials.types.base import CredentialFields, CredentialType, TestResult, secret

SENDGRID_API = "https://api.sendgrid.com"


class SendGridFields(CredentialFields):
    api_key: SecretStr = secret(description="An API key (SG....) with the mail.send permission")
    api_base_url: str = Field(SENDGRID_API, description="SendGrid API base URL (https://api.eu.sendgrid.com for EU "
                                                        "regional subusers; change otherwise only for tests)")


class SendGrid(CredentialType):
    type = "sendgrid"
    display_name = "SendGrid"
    description = "A SendGrid API key, sent as a bearer token."
    documentation_url = "https://www.twilio.com/docs/sendgrid/ui/account-and-settings/api-keys"
    Fields = SendGridFields

    def inject(self, values: SendGridFields) -> dict:
        return {"headers": {"Authorization": f"Bearer {values.api_key.get_secret_value()}"},
                "api_base_url": values.api_base_url.rstrip("/")}

    async def test(self, values: SendGridFields) -> TestResult:
        url = values.api_base_url.rstrip("/") + "/v3/scopes"
        response = await request("GET", url, headers=self.inject(values)["headers"], timeout_s=self.test_timeout_s)
        if isinstance(response, TestResult):
            return response
        try:
            answer = response.json()
        except ValueError:
            answer = {}
        answer = answer if isinstance(answer, dict) else {}
        if response.status_code == 200:
            scopes = answer.get("scopes") or []
            if "mail.send" in scopes:
                return TestResult(True, f"SendGrid accepted the key; it may send mail ({len(scopes)} scopes)")
            return TestResult(False, "SendGrid accepted the key but it lacks the mail.send permission; give it "
                                     "Mail Send access")
        errors = answer.get("errors") or [{}]
        message = errors[0].get("message", "no message") if isinstance(errors[0], dict) else "no message"
        return TestResult(False, f"{shown_url(url)} answered {response.status_code}: {message}; check the key")
