"""Google Sheets: a service account's JSON key (read and write) or an API key (reading public sheets).

A service account gets an access token the way Google documents it for server-to-server calls: an RS256 JWT
signed with the account's private key (``iss`` the account, ``scope`` spreadsheets, ``aud`` its ``token_uri``)
exchanged at ``token_uri``. ``inject`` signs the JWT (valid an hour) and the node exchanges it before its
calls; **Test** does the exchange (service account) or asks for a spreadsheet that does not exist (API key: Google
answers "not found" to a valid key and "API key not valid" to another).
"""

from __future__ import annotations

import json
import time
from typing import Literal

import jwt
from pydantic import Field, SecretStr, model_validator

from backend.credentials.types._api import api_test
from backend.credentials.types._http import request, shown_url
from backend.credentials.types.base import (
    CredentialFields,
    CredentialProblem,
    CredentialType,
    TestResult,
    secret,
)
from nodes.sdk.jsonapi import api_message

SHEETS_API = "https://sheets.googleapis.com/v4"
SCOPE = "https://www.googleapis.com/auth/spreadsheets"
JWT_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"


class GoogleSheetsFields(CredentialFields):
    auth_type: Literal["service_account", "api_key"] = Field(
        "service_account", description="service_account (read and write the sheets shared with its email) or "
                                       "api_key (read sheets shared publicly)")
    service_account_key: SecretStr = secret("", description="service_account: the JSON key file's content "
                                                            "(Google Cloud console > IAM > Service accounts > Keys)")
    api_key: SecretStr = secret("", description="api_key: an API key with the Sheets API enabled")
    api_base_url: str = Field(SHEETS_API, description="Sheets API base URL (change only for a proxy or tests)")

    @model_validator(mode="after")
    def _complete(self) -> GoogleSheetsFields:
        if self.auth_type == "api_key" and not _plain(self.api_key):
            raise ValueError("api_key authentication needs the API key")
        if self.auth_type == "service_account":
            account = _account(_plain(self.service_account_key))
            missing = [k for k in ("client_email", "private_key", "token_uri") if not account.get(k)]
            if missing:
                raise ValueError(f"the service account key lacks {', '.join(missing)}; paste the whole JSON key "
                                 "file")
        return self


def _plain(value: SecretStr | str) -> str:
    """A secret's text (a default left empty stays a plain str)."""
    return value.get_secret_value() if isinstance(value, SecretStr) else value or ""


def _account(text: str) -> dict:
    try:
        account = json.loads(text or "{}")
    except ValueError:
        raise ValueError("the service account key is not JSON; paste the JSON key file's content") from None
    if not isinstance(account, dict):
        raise ValueError("the service account key must be a JSON object")
    return account


class GoogleSheets(CredentialType):
    type = "google_sheets"
    display_name = "Google Sheets"
    description = "A Google service account's JSON key (an access token is fetched per run) or an API key."
    documentation_url = "https://developers.google.com/identity/protocols/oauth2/service-account"
    Fields = GoogleSheetsFields

    def inject(self, values: GoogleSheetsFields) -> dict:
        base = values.api_base_url.rstrip("/")
        if values.auth_type == "api_key":
            return {"api_base_url": base, "query": {"key": _plain(values.api_key)}, "headers": {}}
        account = _account(_plain(values.service_account_key))
        now = int(time.time())
        try:
            assertion = jwt.encode({"iss": account["client_email"], "scope": SCOPE, "aud": account["token_uri"],
                                    "iat": now, "exp": now + 3600}, account["private_key"], algorithm="RS256")
        except (ValueError, TypeError, jwt.PyJWTError) as exc:
            raise CredentialProblem(f"the service account's private key cannot sign ({type(exc).__name__}); "
                                    "paste the JSON key file again") from None
        return {"api_base_url": base, "headers": {}, "token_request": {
            "url": account["token_uri"], "form": {"grant_type": JWT_GRANT, "assertion": assertion}},
            "client_email": account["client_email"]}

    async def test(self, values: GoogleSheetsFields) -> TestResult:
        try:
            injected = self.inject(values)
        except CredentialProblem as exc:
            return TestResult(False, str(exc))
        if values.auth_type == "api_key":
            key = _plain(values.api_key)
            result = await api_test("Google Sheets", f"{injected['api_base_url']}/spreadsheets/linkflow-test?key="
                                    + key, {}, self.test_timeout_s, secrets=[key], accepted=lambda _: "")
            if "answered 404" in result.message:  # no such sheet, but the key was accepted
                return TestResult(True, "Google accepted the API key")
            return result
        token = injected["token_request"]
        response = await request("POST", token["url"], headers={}, timeout_s=self.test_timeout_s,
                                 data=token["form"])
        if isinstance(response, TestResult):
            return response
        if response.status_code == 200 and "access_token" in response.text:
            return TestResult(True, f"Google issued an access token to {injected['client_email']}")
        return TestResult(False, f"{shown_url(token['url'])} answered {response.status_code}: "
                                 f"{api_message(response) or 'no token'}; check the service account key")
