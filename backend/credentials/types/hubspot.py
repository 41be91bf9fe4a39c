"""A HubSpot private app's access token; tested by reading one contact (the scope the HubSpot node needs)."""

from __future__ import annotations

from pydantic import Field, SecretStr

from backend.credentials.types._http import request, shown_url
from backend.credentials.types.base import CredentialFields, CredentialType, TestResult, secret

HUBSPOT_API = "https://api.hubapi.com"


class HubSpotFields(CredentialFields):
    access_token: SecretStr = secret(description="A private app's access token (pat-...) with the "
                                                 "crm.objects.contacts.read/write scopes")
    api_base_url: str = Field(HUBSPOT_API, description="HubSpot API base URL (change only for a proxy or tests)")


class HubSpot(CredentialType):
    type = "hubspot"
    display_name = "HubSpot (private app)"
    description = "A HubSpot private app's access token, sent as a bearer token."
    documentation_url = "https://developers.hubspot.com/docs/api/private-apps"
    Fields = HubSpotFields

    def inject(self, values: HubSpotFields) -> dict:
        return {"headers": {"Authorization": f"Bearer {values.access_token.get_secret_value()}"},
                "api_base_url": values.api_base_url.rstrip("/")}

    async def test(self, values: HubSpotFields) -> TestResult:
        url = values.api_base_url.rstrip("/") + "/crm/v3/objects/contacts?limit=1"
        response = await request("GET", url, headers=self.inject(values)["headers"], timeout_s=self.test_timeout_s)
        if isinstance(response, TestResult):
            return response
        if response.status_code == 200:
            return TestResult(True, "HubSpot accepted the token; it may read contacts")
        try:
            answer = response.json()
        except ValueError:
            answer = {}
        message = answer.get("message", "no message") if isinstance(answer, dict) else "no message"
        return TestResult(False, f"{shown_url(url)} answered {response.status_code}: {message}")
