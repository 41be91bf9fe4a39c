"""Who is calling and in which team: the FastAPI dependencies every router builds on.

    @router.post("/things")
    def create(principal: Principal = Depends(require_role(Role.EDITOR)), session: DbSession): ...

Credentials: `Authorization: Bearer <access token>`, `Authorization: Bearer lf_<key>` or
`X-API-Key: lf_<key>`. Missing, invalid or expired ones answer 401 with
`WWW-Authenticate: Bearer`. The team is the `X-Team-Id` header (403 unless the caller is a
member, whether or not the team exists), else the caller's oldest membership. An API key
is bound to its team and acts with its creator's current role there. A team with
`require_2fa` answers 403 `two_factor_required` to a signed-in member whose account has no
two-factor sign-in (API keys and OAuth sign-ins pass); their account endpoints keep working.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Header, Request, Security
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.auth import api_keys, two_factor
from backend.auth.models import ApiKey
from backend.auth.throttle import SigninThrottle
from backend.auth.tokens import decode_access_token, sign_in_active
from backend.db.deps import DbSession
from backend.errors import Forbidden, NotFound, Unauthorized
from backend.users.models import Membership, Role, Team, User
from backend.users.roles import ensure_at_least

_bearer = HTTPBearer(auto_error=False, description="a JWT access token, or an API key `lf_...`")
_api_key_header = APIKeyHeader(name="X-API-Key", auto_error=False, description="an API key `lf_...`")


@dataclass(frozen=True)
class Principal:
    user_id: str
    team_id: str  # the team this request acts in
    role: Role
    api_key_id: str | None = None
    is_admin: bool = False  # instance admin


@dataclass(frozen=True)
class Authentication:
    user: User
    api_key: ApiKey | None = None
    method: str = "password"  # how the sign-in was proven (tokens.METHODS); API keys: "password"


def signin_throttle(request: Request) -> SigninThrottle:
    """The per-account sign-in throttle of this app (backend.auth.throttle)."""
    return request.app.state.signin_throttle


Throttle = Annotated[SigninThrottle, Depends(signin_throttle)]


def authenticate(
    session: DbSession,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Security(_bearer)] = None,
    x_api_key: Annotated[str | None, Security(_api_key_header)] = None,
) -> Authentication:
    credential = bearer.credentials if bearer else x_api_key
    if not credential:
        raise Unauthorized("sign in first: send `Authorization: Bearer <access token>` "
                           "or `X-API-Key: lf_...`")
    if api_keys.looks_like_key(credential):
        key = api_keys.find_usable(session, credential)
        if key is None:
            raise Unauthorized("the API key is invalid, revoked or expired")
        return Authentication(_active_user(session, key.user_id), key)
    claims = decode_access_token(credential)
    if "sid" in claims and not sign_in_active(session, claims["sid"]):
        raise Unauthorized("this session was signed out (sign-out, password change or a reused refresh token); "
                           "sign in again")
    return Authentication(_active_user(session, claims["sub"]), method=str(claims.get("method", "password")))


def _active_user(session: Session, user_id: str) -> User:
    user = session.get(User, user_id)
    if user is None or not user.is_active:
        raise Unauthorized("this account does not exist or is disabled")
    return user


def current_user(auth: Annotated[Authentication, Depends(authenticate)]) -> User:
    """The authenticated user, whatever team the request is about."""
    return auth.user


class TwoFactorRequired(Forbidden):
    code = "two_factor_required"


def two_factor_satisfied(session: Session, auth: Authentication) -> bool:
    """Whether a team that requires two-factor sign-in lets this caller in: the account has it on, or
    the caller is an API key, or the sign-in went through the OAuth provider (which owns the second factor)."""
    return auth.api_key is not None or auth.method == "oauth" or two_factor.is_enabled(session, auth.user.id)


def principal_in(session: Session, auth: Authentication, team_id: str | None) -> Principal | None:
    """The caller acting in `team_id` (None: their oldest membership), or None if they may not.
    TwoFactorRequired (403) when the team requires two-factor sign-in and the caller lacks it."""
    if auth.api_key is not None:
        if team_id is not None and team_id != auth.api_key.team_id:
            return None
        team_id = auth.api_key.team_id
    query = (select(Membership.team_id, Membership.role, Team.require_2fa)
             .join(Team, Team.id == Membership.team_id).where(Membership.user_id == auth.user.id))
    if team_id is not None:
        query = query.where(Membership.team_id == team_id)
    row = session.execute(query.order_by(Membership.created_at, Membership.id).limit(1)).first()
    if row is None:
        return None
    if row.require_2fa and not two_factor_satisfied(session, auth):
        raise TwoFactorRequired(f"team {row.team_id} requires two-factor sign-in; enable it in Settings → "
                                "Security (POST /api/v1/auth/2fa/setup), then try again")
    return Principal(user_id=auth.user.id, team_id=row.team_id, role=Role(row.role),
                     api_key_id=auth.api_key.id if auth.api_key else None, is_admin=auth.user.is_admin)


def current_principal(
    session: DbSession,
    auth: Annotated[Authentication, Depends(authenticate)],
    x_team_id: Annotated[str | None, Header(alias="X-Team-Id", description="team to act in")] = None,
) -> Principal:
    principal = principal_in(session, auth, x_team_id or None)
    if principal is not None:
        return principal
    if auth.api_key is not None and x_team_id and x_team_id != auth.api_key.team_id:
        raise Forbidden("this API key acts only in the team it was created in; drop the X-Team-Id header")
    if auth.api_key is not None:
        raise Unauthorized("the API key's creator is no longer a member of its team, "
                           "so the key no longer works")
    if x_team_id:
        raise Forbidden(f"you are not a member of team {x_team_id}")
    raise Forbidden("you are not a member of any team; create one with POST /api/v1/teams")


@functools.cache
def require_role(minimum: Role) -> Callable[..., Principal]:
    """A dependency: the caller's Principal if their role in the team is at least `minimum`, else 403."""

    def dependency(principal: Annotated[Principal, Depends(current_principal)]) -> Principal:
        ensure_at_least(principal.role, minimum, principal.team_id)
        return principal

    dependency.__name__ = f"require_{minimum.value}"
    return dependency


def team_member(
    team_id: str, session: DbSession, auth: Annotated[Authentication, Depends(authenticate)]
) -> Principal:
    """For /teams/{team_id}/... routes: the caller in that team; a team they are not in is 404."""
    principal = principal_in(session, auth, team_id)
    if principal is None:
        raise NotFound(f"team {team_id} not found")
    return principal
