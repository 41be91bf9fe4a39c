"""OAuth2 (authorization code with PKCE, or client credentials) through authlib's httpx client.

The platform keeps the tokens in the credential's own encrypted values (``access_token``,
``refresh_token``, ``expires_at``) and renews them in ``refresh`` before each use, from
``REFRESH_SKEW_S`` seconds before they expire.

Every token endpoint call (code exchange, client credentials, refresh at run time) goes
through the address policy's guarded transport: an internal token URL is refused before
anything connects. The authorize URL is only handed to the user's browser; LinkFlow
never requests it.
"""

from __future__ import annotations

import asyncio
import time
import warnings
from collections.abc import Callable
from typing import Literal

import httpx
from authlib.deprecate import AuthlibDeprecationWarning  # imported first: it installs an "always" filter
from pydantic import Field, SecretStr, field_validator, model_validator

from backend.credentials.types._http import shown_url
from backend.credentials.types.base import (
    CredentialFields,
    CredentialProblem,
    CredentialType,
    TestResult,
    secret,
)
from backend.errors import TransientError
from backend.outbound import address_policy
from nodes.sdk import NodeTransientError, NodeUserError
from nodes.sdk.net import GuardedTransport

with warnings.catch_warnings():
    # authlib 1.9 prefers the httpx2 fork and warns on import; the plain httpx it falls back to works.
    warnings.simplefilter("ignore", AuthlibDeprecationWarning)
    from authlib.integrations.httpx_client import OAuth2Client, OAuthError

REFRESH_SKEW_S = 60
TOKEN_TIMEOUT_S = 15.0
_MANAGED = {"managed": True}


class OAuth2Fields(CredentialFields):
    grant_type: Literal["authorization_code", "client_credentials"] = Field(
        "authorization_code", description="authorization_code: a user connects an account (PKCE); "
                                          "client_credentials: the app itself gets a token")
    client_id: str = Field(min_length=1, description="Client id from the provider's app registration")
    client_secret: SecretStr | None = secret(None, description="Client secret (empty for public PKCE clients)")
    authorize_url: str = Field("", description="Authorization endpoint (authorization_code only)")
    token_url: str = Field(description="Token endpoint")
    scope: str = Field("", description="Space-separated scopes to ask for")
    client_authentication: Literal["client_secret_basic", "client_secret_post"] = Field(
        "client_secret_basic", description="How the client secret is sent to the token endpoint")
    access_token: SecretStr | None = secret(None, managed=True, description="Filled in by LinkFlow")
    refresh_token: SecretStr | None = secret(None, managed=True, description="Filled in by LinkFlow")
    expires_at: int | None = Field(None, description="Unix time the access token expires (filled in by LinkFlow)",
                                   json_schema_extra=_MANAGED)

    @field_validator("authorize_url", "token_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if value and not value.lower().startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value

    @model_validator(mode="after")
    def _authorize_url_for_code_flow(self) -> OAuth2Fields:
        if self.grant_type == "authorization_code" and not self.authorize_url:
            raise ValueError("authorize_url is required for the authorization_code grant")
        return self


class OAuth2(CredentialType):
    type = "oauth2"
    display_name = "OAuth2"
    description = "OAuth2 access tokens, renewed automatically; sent as 'Authorization: Bearer <token>'."
    icon = "lock"
    Fields = OAuth2Fields
    test_timeout_s = TOKEN_TIMEOUT_S

    def inject(self, values: OAuth2Fields) -> dict:
        if values.access_token is None:
            raise CredentialProblem(_NOT_CONNECTED)
        return {"headers": {"Authorization": f"Bearer {values.access_token.get_secret_value()}"}}

    def refresh(self, values: OAuth2Fields, now: float) -> OAuth2Fields | None:
        if values.access_token is not None and (values.expires_at is None
                                                or values.expires_at - REFRESH_SKEW_S > now):
            return None
        if values.grant_type == "client_credentials":
            return with_token(values, _token_call(values, lambda c: c.fetch_token(
                values.token_url, grant_type="client_credentials")))
        if values.refresh_token is not None:
            return with_token(values, _token_call(values, lambda c: c.refresh_token(
                values.token_url, refresh_token=values.refresh_token.get_secret_value())))
        if values.access_token is None:
            raise CredentialProblem(_NOT_CONNECTED)
        if values.expires_at is not None and values.expires_at <= now:
            raise CredentialProblem("the access token has expired and the provider gave no refresh token; "
                                    "connect the credential again")
        return None  # expires within the skew, but still valid and nothing to renew it with

    async def test(self, values: OAuth2Fields) -> TestResult:
        if values.grant_type == "client_credentials":
            try:
                fresh = await asyncio.to_thread(_token_call, values, lambda c: c.fetch_token(
                    values.token_url, grant_type="client_credentials"))
            except (CredentialProblem, TransientError) as exc:
                return TestResult(False, str(exc))
            return TestResult(True, f"{shown_url(values.token_url)} issued an access token{_lifetime(fresh)}")
        if values.access_token is None:
            return TestResult(False, _NOT_CONNECTED)
        return TestResult(True, f"connected; the access token is valid{_lifetime(values.model_dump())}")


_NOT_CONNECTED = "not connected yet: open the credential's authorize URL and approve access"


def authorization_url(values: OAuth2Fields, *, redirect_uri: str, state: str, code_verifier: str) -> str:
    """The provider URL a user opens to approve access (PKCE S256 challenge included)."""
    with _client(values, redirect_uri) as client:
        url, _ = client.create_authorization_url(values.authorize_url, state=state, code_verifier=code_verifier)
    return url


def exchange_code(values: OAuth2Fields, *, code: str, redirect_uri: str, code_verifier: str) -> OAuth2Fields:
    """Trade an authorization code for tokens; the new values to store."""
    return with_token(values, _token_call(values, lambda c: c.fetch_token(
        values.token_url, grant_type="authorization_code", code=code, code_verifier=code_verifier),
        redirect_uri=redirect_uri))


def with_token(values: OAuth2Fields, token: dict) -> OAuth2Fields:
    refresh = token.get("refresh_token") or (values.refresh_token.get_secret_value() if values.refresh_token else None)
    expires_at = token.get("expires_at")
    return values.model_copy(update={
        "access_token": SecretStr(token["access_token"]),
        "refresh_token": SecretStr(refresh) if refresh else None,
        "expires_at": int(expires_at) if expires_at is not None else None,
    })


def _client(values: OAuth2Fields, redirect_uri: str | None = None) -> OAuth2Client:
    secret_value = values.client_secret.get_secret_value() if values.client_secret else None
    return OAuth2Client(
        client_id=values.client_id, client_secret=secret_value, scope=values.scope or None,
        token_endpoint_auth_method=values.client_authentication if secret_value else "none",
        redirect_uri=redirect_uri, code_challenge_method="S256", timeout=TOKEN_TIMEOUT_S, trust_env=False,
        transport=GuardedTransport(address_policy()))


def _token_call(values: OAuth2Fields, call: Callable[[OAuth2Client], dict], redirect_uri: str | None = None) -> dict:
    """Run one token-endpoint request; errors say what the endpoint said, never what was sent."""
    where = shown_url(values.token_url)
    try:
        with _client(values, redirect_uri) as client:
            token = dict(call(client))
    except NodeUserError as exc:  # refused by the address policy, or an unknown host
        raise CredentialProblem(f"the token endpoint cannot be used: {exc.message}") from None
    except NodeTransientError as exc:
        raise TransientError(f"the token endpoint cannot be reached now: {exc.message}") from None
    except (httpx.InvalidURL, httpx.UnsupportedProtocol):
        raise CredentialProblem(f"the token endpoint {where} is not a valid http(s) URL") from None
    except OAuthError as exc:
        detail = f"{exc.error}" + (f" ({exc.description})" if exc.description else "")
        raise CredentialProblem(f"the token endpoint {where} refused: {detail}; check the client settings "
                                "or connect the credential again") from None
    except httpx.HTTPStatusError as exc:
        status = exc.response.status_code
        if status >= 500 or status == 429:
            raise TransientError(f"the token endpoint {where} answered {status}; try again later") from None
        raise CredentialProblem(f"the token endpoint {where} answered {status}") from None
    except httpx.TimeoutException:
        raise TransientError(f"the token endpoint {where} did not answer within {TOKEN_TIMEOUT_S:g} s") from None
    except httpx.TransportError as exc:
        raise TransientError(f"could not reach the token endpoint {where}: {type(exc).__name__}") from None
    except ValueError:
        raise CredentialProblem(f"the token endpoint {where} did not answer with a JSON token") from None
    if not token.get("access_token"):
        raise CredentialProblem(f"the token endpoint {where} answered without an access_token")
    return token


def _lifetime(token: dict) -> str:
    expires_at = token.get("expires_at")
    if expires_at is None:
        return " (no expiry given)"
    left = int(expires_at - time.time())
    return f" for {left} s more" if left > 0 else " until now: it expired and is renewed on next use"
