"""An API key sent in a request header (``X-API-Key: ...``)."""

from __future__ import annotations

from pydantic import Field, SecretStr

from backend.credentials.types._http import probe
from backend.credentials.types.base import CredentialFields, CredentialType, TestResult, secret

_HEADER_NAME = r"^[A-Za-z0-9!#$%&'*+.^_`|~-]+$"  # an HTTP token (RFC 9110)


class ApiKeyHeaderFields(CredentialFields):
    header_name: str = Field("X-API-Key", pattern=_HEADER_NAME, description="Header that carries the key")
    api_key: SecretStr = secret(description="The API key")
    test_url: str = Field("", description="Optional: a URL that needs the key, called (GET) to test it")


class ApiKeyHeader(CredentialType):
    type = "api_key_header"
    display_name = "API key (header)"
    description = "Sends an API key in a request header."
    Fields = ApiKeyHeaderFields

    def inject(self, values: ApiKeyHeaderFields) -> dict:
        return {"headers": {values.header_name: values.api_key.get_secret_value()}}

    async def test(self, values: ApiKeyHeaderFields) -> TestResult:
        return await probe(values.test_url, self.inject(values)["headers"], self.test_timeout_s)
