"""An Airtable personal access token; tested with ``GET /v0/meta/whoami``."""

from __future__ import annotations

from pydantic import Field, SecretStr

from backend.credentials.types._api import api_test
from backend.credentials.types.base import CredentialFields, CredentialType, TestResult, secret

AIRTABLE_API = "https://api.airtable.com/v0"


class AirtableFields(CredentialFields):
    access_token: SecretStr = secret(description="Personal access token (pat...) with the data.records:read "
                                                 "(and :write) scopes and access to the bases")
    api_base_url: str = Field(AIRTABLE_API, description="Airtable API base URL (change only for a proxy or "
                                                        "tests)")


class Airtable(CredentialType):
    type = "airtable"
    display_name = "Airtable"
    description = "An Airtable personal access token, sent as a bearer token."
    documentation_url = "https://airtable.com/developers/web/guides/personal-access-tokens"
    Fields = AirtableFields

    def inject(self, values: AirtableFields) -> dict:
        return {"headers": {"Authorization": f"Bearer {values.access_token.get_secret_value()}"},
                "api_base_url": values.api_base_url.rstrip("/")}

    async def test(self, values: AirtableFields) -> TestResult:
        return await api_test("Airtable", self.inject(values)["api_base_url"] + "/meta/whoami",
                              self.inject(values)["headers"], self.test_timeout_s,
                              secrets=[values.access_token.get_secret_value()],
                              accepted=lambda me: f"authenticated as {me.get('id', '?')} "
                                                  f"(scopes: {', '.join(me.get('scopes') or []) or 'none'})")
