"""Jira: an Atlassian account's email and API token (Jira Cloud), or a personal access token (Jira Data
Center / Server); tested with ``GET /rest/api/{3|2}/myself``."""

from __future__ import annotations

import base64
from typing import Literal

from pydantic import Field, SecretStr

from backend.credentials.types._api import api_test
from backend.credentials.types.base import CredentialFields, CredentialType, TestResult, secret


class JiraFields(CredentialFields):
    site_url: str = Field(..., min_length=8, description="Your Jira site: https://your-domain.atlassian.net, "
                                                         "or your Jira Data Center server's URL")
    email: str = Field("", description="Jira Cloud: your Atlassian account's email. Leave empty to send the "
                                       "token as a Data Center personal access token (Bearer)")
    api_token: SecretStr = secret(description="Jira Cloud: an API token (id.atlassian.com > Security); "
                                              "Data Center: a personal access token")
    api_version: Literal["3", "2"] = Field("3", description="REST API version: 3 (Jira Cloud) or 2 (Data Center "
                                                            "and Server, plain-text descriptions)")


class Jira(CredentialType):
    type = "jira"
    display_name = "Jira"
    description = "Jira Cloud (email + API token, Basic auth) or Data Center (personal access token)."
    documentation_url = "https://developer.atlassian.com/cloud/jira/platform/basic-auth-for-rest-apis/"
    Fields = JiraFields

    def inject(self, values: JiraFields) -> dict:
        token = values.api_token.get_secret_value()
        auth = ("Basic " + base64.b64encode(f"{values.email}:{token}".encode()).decode()) if values.email \
            else f"Bearer {token}"
        return {"headers": {"Authorization": auth, "Accept": "application/json"},
                "api_base_url": f"{values.site_url.rstrip('/')}/rest/api/{values.api_version}",
                "api_version": values.api_version}

    async def test(self, values: JiraFields) -> TestResult:
        return await api_test("Jira", self.inject(values)["api_base_url"] + "/myself",
                              self.inject(values)["headers"], self.test_timeout_s,
                              secrets=[values.api_token.get_secret_value()],
                              accepted=lambda me: f"authenticated as {me.get('displayName', '?')}")
