"""A Notion internal integration secret; tested with ``GET /v1/users/me``."""

from __future__ import annotations

from pydantic import Field, SecretStr

from backend.credentials.types._api import api_test
from backend.credentials.types.base import CredentialFields, CredentialType, TestResult, secret

NOTION_API = "https://api.notion.com/v1"
NOTION_VERSION = "2022-06-28"


class NotionFields(CredentialFields):
    api_key: SecretStr = secret(description="Internal integration secret (secret_... or ntn_...); share the "
                                            "pages and databases with the integration in Notion")
    api_base_url: str = Field(NOTION_API, description="Notion API base URL (change only for a proxy or tests)")


class Notion(CredentialType):
    type = "notion"
    display_name = "Notion"
    description = "A Notion integration secret, sent as a bearer token with Notion-Version 2022-06-28."
    documentation_url = "https://developers.notion.com/docs/authorization#internal-integration-auth-flow-set-up"
    Fields = NotionFields

    def inject(self, values: NotionFields) -> dict:
        return {"headers": {"Authorization": f"Bearer {values.api_key.get_secret_value()}",
                            "Notion-Version": NOTION_VERSION},
                "api_base_url": values.api_base_url.rstrip("/")}

    async def test(self, values: NotionFields) -> TestResult:
        return await api_test("Notion", self.inject(values)["api_base_url"] + "/users/me",
                              self.inject(values)["headers"], self.test_timeout_s,
                              secrets=[values.api_key.get_secret_value()],
                              accepted=lambda me: f"authenticated as {me.get('name') or 'the integration'}")
