"""OAuth2 / OpenID Connect sign-in (authorization code + PKCE) with one configured provider.

No server-side session: the `state` and the PKCE verifier travel in a short-lived signed,
HttpOnly cookie scoped to the callback path, so any API pod can finish a login another
started. The user is identified by the provider's userinfo endpoint (fetched with the
access token over TLS), which must say the email address is verified.
"""

from __future__ import annotations

import hmac
import secrets
import warnings
from dataclasses import dataclass
from datetime import timedelta

import httpx
import jwt
from authlib.common.errors import AuthlibBaseError
from authlib.deprecate import AuthlibDeprecationWarning

from backend.db.base import utcnow
from backend.errors import NotFound, Unauthorized, UserError
from backend.settings import SecuritySettings, get_settings

with warnings.catch_warnings():
    # authlib 1.9 prefers the `httpx2` package and warns when it falls back to httpx, which we pin.
    # (Its deprecate module installs an "always" filter on import; ours goes in front of it.)
    warnings.simplefilter("ignore", AuthlibDeprecationWarning)
    from authlib.integrations.httpx_client import OAuth2Client

STATE_COOKIE = "lf_oauth_state"
CALLBACK_PATH = "/api/v1/auth/oauth/callback"
STATE_LIFETIME = timedelta(minutes=10)
HTTP_TIMEOUT = 10.0


class ProviderUnavailable(UserError):
    status_code = 502
    code = "bad_gateway"


@dataclass(frozen=True)
class Identity:
    email: str
    name: str


def provider() -> SecuritySettings:
    security = get_settings().security
    if not (security.oauth_client_id and security.oauth_server_metadata_url):
        raise NotFound("OAuth sign-in is not configured; set LINKFLOW_SECURITY_OAUTH_CLIENT_ID, "
                       "..._CLIENT_SECRET and ..._SERVER_METADATA_URL")
    return security


def provider_name() -> str:
    security = provider()
    return security.oauth_provider_name or "oauth"


def _client(security: SecuritySettings) -> OAuth2Client:
    return OAuth2Client(client_id=security.oauth_client_id, client_secret=security.oauth_client_secret,
                        scope="openid email profile", redirect_uri=get_settings().public_url + CALLBACK_PATH,
                        code_challenge_method="S256", timeout=HTTP_TIMEOUT)


def _metadata(security: SecuritySettings) -> dict:
    # Fetched per login: two small requests per sign-in are cheaper than a stale cache after a key roll.
    try:
        response = httpx.get(security.oauth_server_metadata_url, timeout=HTTP_TIMEOUT)
        response.raise_for_status()
        metadata = response.json()
    except (httpx.HTTPError, ValueError) as exc:
        raise ProviderUnavailable(f"the OAuth provider's discovery document could not be read: {exc}") \
            from exc
    missing = {"authorization_endpoint", "token_endpoint", "userinfo_endpoint"} - set(metadata)
    if missing:
        raise ProviderUnavailable(f"the OAuth provider's discovery document lacks {sorted(missing)}")
    return metadata


def start() -> tuple[str, str]:
    """(the provider's authorization URL to redirect to, the signed state cookie to set)."""
    security = provider()
    metadata = _metadata(security)
    state, verifier = secrets.token_urlsafe(24), secrets.token_urlsafe(48)
    with _client(security) as client:
        url, _ = client.create_authorization_url(metadata["authorization_endpoint"], state=state,
                                                 code_verifier=verifier)
    claims = {"state": state, "verifier": verifier, "type": "oauth_state", "exp": utcnow() + STATE_LIFETIME}
    return url, jwt.encode(claims, security.secret_key, algorithm="HS256")


def finish(*, code: str, state: str, cookie: str | None) -> Identity:
    """The verified identity behind an authorization code, checked against the state cookie."""
    security = provider()
    verifier = _verifier(security, state, cookie)
    metadata = _metadata(security)
    try:
        with _client(security) as client:
            client.fetch_token(metadata["token_endpoint"], code=code, code_verifier=verifier)
            response = client.get(metadata["userinfo_endpoint"])
            response.raise_for_status()
            info = response.json()
    except AuthlibBaseError as exc:
        raise Unauthorized(f"the OAuth provider refused the sign-in: {exc}") from exc
    except (httpx.HTTPError, ValueError) as exc:
        raise ProviderUnavailable(f"the OAuth provider could not be reached: {exc}") from exc
    return _identity(info)


def _verifier(security: SecuritySettings, state: str, cookie: str | None) -> str:
    try:
        claims = jwt.decode(cookie or "", security.secret_key, algorithms=["HS256"])
    except jwt.InvalidTokenError:
        claims = {}
    if claims.get("type") != "oauth_state" or not hmac.compare_digest(str(claims.get("state", "")), state):
        raise Unauthorized("the sign-in expired or was started in another browser; "
                           "start again at /api/v1/auth/oauth/login")
    return claims["verifier"]


def _identity(info: dict) -> Identity:
    email = info.get("email")
    if not isinstance(email, str) or not email:
        raise Unauthorized("the OAuth provider did not share an email address; allow the `email` scope")
    if info.get("email_verified") is not True:
        raise Unauthorized(f"the OAuth provider has not verified {email}; "
                           "verify it there, then sign in again")
    return Identity(email=email.lower(), name=str(info.get("name") or ""))
