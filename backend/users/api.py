"""/api/v1/users: your own profile."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request

from backend.auth import tokens
from backend.auth.attempts import Attempt
from backend.auth.deps import Throttle, current_user
from backend.auth.schemas import TokensOut
from backend.auth.throttle import SigninThrottle
from backend.db.deps import CommittingRoute, DbSession
from backend.errors import UserError
from backend.users import service as users
from backend.users.models import User
from backend.users.schemas import PasswordChangeIn, UserOut, UserPatch

router = APIRouter(route_class=CommittingRoute, prefix="/users", tags=["users"])

CurrentUser = Annotated[User, Depends(current_user)]


@router.get("/me", response_model=UserOut)
def get_me(user: CurrentUser) -> UserOut:
    return UserOut.model_validate(user)


def _password_attempt(throttle: SigninThrottle, user: User, request: Request) -> Attempt:
    ip = request.client.host if request.client else None
    return Attempt(throttle, user.email, user.id, "user.password_change_failed", actor_id=user.id, ip=ip)


@router.patch("/me", response_model=UserOut)
def update_me(body: UserPatch, user: CurrentUser, session: DbSession, request: Request,
              throttle: Throttle) -> UserOut:
    """Change your name, or your password (give `current_password` too). A password change
    revokes every refresh token of the account: each session signs in again once its access
    token expires."""
    users.update_profile(session, user, name=body.name)
    if body.password is not None:
        if body.current_password is None:
            raise UserError("to change the password, send current_password as well")
        users.change_password(session, user, current=body.current_password, new=body.password,
                              attempt=_password_attempt(throttle, user, request))
    return UserOut.model_validate(user)


@router.post("/me/password", response_model=TokensOut)
def change_password(body: PasswordChangeIn, user: CurrentUser, session: DbSession, request: Request,
                    throttle: Throttle) -> TokensOut:
    """Change your password (`current_password` must be right; the new one follows the sign-up
    policy). Every other session is signed out: all refresh tokens of the account are revoked,
    and this answer carries a fresh pair for the caller to continue with."""
    users.change_password(session, user, current=body.current_password, new=body.new_password,
                          attempt=_password_attempt(throttle, user, request))
    pair = tokens.issue_pair(session, user.id)
    return TokensOut(access_token=pair.access_token, refresh_token=pair.refresh_token,
                     token_type=pair.token_type, expires_in=pair.expires_in)
