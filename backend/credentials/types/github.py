"""A GitHub personal access token (classic or fine-grained) or app token; tested with ``GET /user``."""

from __future__ import annotations

from pydantic import Field, SecretStr

from backend.credentials.types._api import api_test
from backend.credentials.types.base import CredentialFields, CredentialType, TestResult, secret

GITHUB_API = "https://api.github.com"


class GitHubFields(CredentialFields):
    access_token: SecretStr = secret(description="Personal access token (ghp_... or github_pat_...)")
    api_base_url: str = Field(GITHUB_API, description="REST API base URL: https://api.github.com, or "
                              "https://HOST/api/v3 for GitHub Enterprise Server")


class GitHub(CredentialType):
    type = "github"
    display_name = "GitHub"
    description = "A GitHub access token, sent as a bearer token to the REST API."
    documentation_url = "https://docs.github.com/en/rest/authentication/authenticating-to-the-rest-api"
    Fields = GitHubFields

    def inject(self, values: GitHubFields) -> dict:
        return {"headers": {"Authorization": f"Bearer {values.access_token.get_secret_value()}",
                            "Accept": "application/vnd.github+json", "X-GitHub-Api-Version": "2022-11-28"},
                "api_base_url": values.api_base_url.rstrip("/")}

    async def test(self, values: GitHubFields) -> TestResult:
        return await api_test("GitHub", values.api_base_url.rstrip("/") + "/user", self.inject(values)["headers"],
                              self.test_timeout_s, secrets=[values.access_token.get_secret_value()],
                              accepted=lambda me: f"authenticated as {me.get('login', '?')}")
