"""A GitLab personal, project or group access token, for gitlab.com or a self-managed server; tested with
``GET /api/v4/user``."""

from __future__ import annotations

from pydantic import Field, SecretStr

from backend.credentials.types._api import api_test
from backend.credentials.types.base import CredentialFields, CredentialType, TestResult, secret


class GitLabFields(CredentialFields):
    access_token: SecretStr = secret(description="Personal, project or group access token (glpat-...), "
                                                 "with the api or read_api scope")
    server_url: str = Field("https://gitlab.com", description="GitLab server: https://gitlab.com or your "
                                                              "self-managed instance's URL")


class GitLab(CredentialType):
    type = "gitlab"
    display_name = "GitLab"
    description = "A GitLab access token, sent in the PRIVATE-TOKEN header to the REST API v4."
    documentation_url = "https://docs.gitlab.com/api/rest/authentication/"
    Fields = GitLabFields

    def inject(self, values: GitLabFields) -> dict:
        return {"headers": {"PRIVATE-TOKEN": values.access_token.get_secret_value()},
                "api_base_url": values.server_url.rstrip("/") + "/api/v4"}

    async def test(self, values: GitLabFields) -> TestResult:
        return await api_test("GitLab", self.inject(values)["api_base_url"] + "/user",
                              self.inject(values)["headers"], self.test_timeout_s,
                              secrets=[values.access_token.get_secret_value()],
                              accepted=lambda me: f"authenticated as {me.get('username', '?')}")
