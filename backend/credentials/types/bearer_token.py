"""A static bearer token (``Authorization: Bearer ...``)."""

from __future__ import annotations

from pydantic import Field, SecretStr

from backend.credentials.types._http import probe
from backend.credentials.types.base import CredentialFields, CredentialType, TestResult, secret


class BearerTokenFields(CredentialFields):
    token: SecretStr = secret(description="The token, without the 'Bearer ' prefix")
    test_url: str = Field("", description="Optional: a URL that needs the token, called (GET) to test it")


class BearerToken(CredentialType):
    type = "bearer_token"
    display_name = "Bearer token"
    description = "Sends a token as 'Authorization: Bearer <token>'."
    Fields = BearerTokenFields

    def inject(self, values: BearerTokenFields) -> dict:
        return {"headers": {"Authorization": f"Bearer {values.token.get_secret_value()}"}}

    async def test(self, values: BearerTokenFields) -> TestResult:
        return await probe(values.test_url, self.inject(values)["headers"], self.test_timeout_s)
