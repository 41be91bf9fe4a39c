"""HTTP Basic authentication (user name and password)."""

from __future__ import annotations

import base64

from pydantic import Field, SecretStr

from backend.credentials.types._http import probe
from backend.credentials.types.base import CredentialFields, CredentialType, TestResult, secret


class HttpBasicFields(CredentialFields):
    username: str = Field(min_length=1, pattern=r"^[^:]*$", description="User name (no colon)")
    password: SecretStr = secret(description="Password")
    test_url: str = Field("", description="Optional: a URL that needs the login, called (GET) to test it")


class HttpBasic(CredentialType):
    type = "http_basic"
    display_name = "HTTP Basic auth"
    description = "User name and password sent as an HTTP Basic Authorization header."
    Fields = HttpBasicFields

    def inject(self, values: HttpBasicFields) -> dict:
        pair = f"{values.username}:{values.password.get_secret_value()}".encode()
        return {"headers": {"Authorization": "Basic " + base64.b64encode(pair).decode()}}

    async def test(self, values: HttpBasicFields) -> TestResult:
        return await probe(values.test_url, self.inject(values)["headers"], self.test_timeout_s)
