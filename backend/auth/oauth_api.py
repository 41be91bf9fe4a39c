"""/api/v1/auth/oauth: sign in with the configured OAuth2/OIDC provider (a browser flow).

The callback answers with a redirect to the UI at `/` carrying the tokens in the URL
fragment (`#access_token=...&refresh_token=...&token_type=bearer&expires_in=...`):
fragments are not sent to servers, so the tokens stay out of access logs and Referer headers.
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Cookie, Query
from fastapi.responses import RedirectResponse
from sqlalchemy.exc import IntegrityError

from backend.auth import oauth, service
from backend.db.deps import CommittingRoute, DbSession
from backend.errors import Conflict, Unauthorized
from backend.settings import get_settings

router = APIRouter(route_class=CommittingRoute, prefix="/auth/oauth", tags=["auth"])


@router.get("/login", response_class=RedirectResponse, status_code=302)
def oauth_login() -> RedirectResponse:
    """Redirect to the provider's consent page (404 when no provider is configured)."""
    url, state_cookie = oauth.start()
    response = RedirectResponse(url, status_code=302)
    response.set_cookie(oauth.STATE_COOKIE, state_cookie, max_age=int(oauth.STATE_LIFETIME.total_seconds()),
                        path=oauth.CALLBACK_PATH, httponly=True, samesite="lax",
                        secure=get_settings().public_url.startswith("https://"))
    return response


@router.get("/callback", response_class=RedirectResponse, status_code=303)
def oauth_callback(
    session: DbSession,
    code: Annotated[str | None, Query(max_length=2000)] = None,
    state: Annotated[str, Query(max_length=200)] = "",
    error: Annotated[str | None, Query(max_length=200)] = None,
    state_cookie: Annotated[str | None, Cookie(alias=oauth.STATE_COOKIE)] = None,
) -> RedirectResponse:
    """Where the provider sends the browser back. Finishes sign-in (creating the account on the
    first visit with a provider-verified email) and answers 303 to
    `/#access_token=...&refresh_token=...&token_type=bearer&expires_in=...`."""
    if error or not code:
        raise Unauthorized(f"the OAuth provider did not sign you in ({error or 'no code returned'}); "
                           "start again at /api/v1/auth/oauth/login")
    identity = oauth.finish(code=code, state=state, cookie=state_cookie)
    try:
        _, pair = service.oauth_login(session, email=identity.email, name=identity.name,
                                      provider=oauth.provider_name())
    except IntegrityError as exc:  # first sign-ins of the same account racing each other
        raise Conflict("this account was just created by another sign-in; try again") from exc
    fragment = urlencode({"access_token": pair.access_token, "refresh_token": pair.refresh_token,
                          "token_type": pair.token_type, "expires_in": pair.expires_in})
    response = RedirectResponse(f"/#{fragment}", status_code=303)
    response.delete_cookie(oauth.STATE_COOKIE, path=oauth.CALLBACK_PATH)
    return response
