"""A GitHub personal access token (classic or fine-grained); tested with ``GET /user``."""

from __future__ import annotations

from pydantic import Field, SecretStr

from backend.credentials.types._http import request, shown_url
from backend.credentials.types.base import CredentialFields, CredentialType, TestResult, secret

GITHUB_API = "https://api.github.com"


class GitHubFields(CredentialFields):
    access_token: SecretStr = secret(description="Personal access token (ghp_... or github_pat_...)")
    api_base_url: str = Field(GITHUB_API, description="GitHub REST API base URL (GitHub Enterprise: "
                                                      "https://HOST/api/v3; change only for that or tests)")


class GitHub(CredentialType):
    type = "github"
    display_name = "GitHub"
    description = "A GitHub access token, sent as a bearer token to GitHub's REST API."
    documentation_url = "https://docs.github.com/en/authentication/keeping-your-account-and-data-secure/managing-your-personal-access-tokens"
    Fields = GitHubFields

    def inject(self, values: GitHubFields) -> dict:
        return {"headers": {"Authorization": f"Bearer {values.access_token.get_secret_value()}",
                            "Accept": "application/vnd.github+json", "X-GitHub-Api-Version": "2022-11-28"},
                "api_base_url": values.api_base_url.rstrip("/")}

    async def test(self, values: GitHubFields) -> TestResult:
        url = values.api_base_url.rstrip("/") + "/user"
        response = await request("GET", url, headers=self.inject(values)["headers"], timeout_s=self.test_timeout_s)
        if isinstance(response, TestResult):
            return response
        if response.status_code == 200:
            try:
                login = response.json().get("login", "?")
            except (ValueError, AttributeError):
                login = "?"
            return TestResult(True, f"authenticated as {login}")
        return TestResult(False, f"{shown_url(url)} answered {response.status_code}; check the token")
