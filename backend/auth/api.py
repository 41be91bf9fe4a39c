"""/api/v1/auth: sign-up, sign-in, token refresh, sign-out, password reset."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, Depends, Request, Response
from sqlalchemy.exc import IntegrityError

from backend.auth import service, tokens, two_factor
from backend.auth.deps import Authentication, Throttle, authenticate, two_factor_satisfied
from backend.auth.schemas import (
    Accepted,
    LoginIn,
    MeOut,
    MfaChallengeOut,
    MfaLoginIn,
    PasswordResetConfirmIn,
    PasswordResetRequestIn,
    RefreshIn,
    SessionOut,
    SignupIn,
    SignupOut,
    TokensOut,
)
from backend.auth.tokens import TokenPair
from backend.db.deps import CommittingRoute, DbSession
from backend.errors import Conflict
from backend.notifications.mail import send_in_background
from backend.users import service as users
from backend.users.models import User
from backend.users.schemas import MembershipOut, TeamOut, UserOut

router = APIRouter(route_class=CommittingRoute, prefix="/auth", tags=["auth"])


def _session_out(user: User, pair: TokenPair) -> SessionOut:
    return SessionOut(user=UserOut.model_validate(user), **_tokens(pair).model_dump())


def _tokens(pair: TokenPair) -> TokensOut:
    return TokensOut(access_token=pair.access_token, refresh_token=pair.refresh_token,
                     token_type=pair.token_type, expires_in=pair.expires_in)


@router.post("/signup", status_code=201, response_model=SignupOut)
def signup(body: SignupIn, session: DbSession) -> SignupOut:
    """Create an account and its personal team (you are its owner); returns a signed-in session."""
    try:
        user, team, pair = service.signup(session, email=body.email, password=body.password, name=body.name)
    except IntegrityError as exc:  # a concurrent sign-up with the same email won the race
        raise Conflict(f"a user with email {body.email.strip().lower()} already exists") from exc
    return SignupOut(team=TeamOut.model_validate(team), **_session_out(user, pair).model_dump())


def _client_ip(request: Request) -> str | None:
    return request.client.host if request.client else None


@router.post("/login", response_model=SessionOut | MfaChallengeOut)
def login(body: LoginIn, session: DbSession, request: Request, throttle: Throttle) -> SessionOut | MfaChallengeOut:
    """Sign in with a password. With two-factor sign-in on, the answer is `{"mfa_required": true,
    "mfa_token"}` instead of tokens: send the token and a code to POST /auth/login/mfa. Failed attempts
    for one account, from any address, lock it for a while (429 with Retry-After)."""
    result = service.login(session, throttle, email=body.email, password=body.password, ip=_client_ip(request))
    if isinstance(result, service.MfaChallenge):
        return MfaChallengeOut(mfa_token=result.mfa_token, expires_in=result.expires_in)
    return _session_out(*result)


@router.post("/login/mfa", response_model=SessionOut)
def login_mfa(body: MfaLoginIn, session: DbSession, request: Request, throttle: Throttle) -> SessionOut:
    """The second step of a sign-in with two-factor sign-in on: the `mfa_token` of POST /auth/login
    (valid 5 minutes) and the current 6-digit code, or one of the recovery codes (each works once)."""
    user, pair = service.login_second_factor(session, throttle, mfa_token=body.mfa_token, code=body.code,
                                             ip=_client_ip(request))
    return _session_out(user, pair)


@router.post("/refresh", response_model=TokensOut)
def refresh(body: RefreshIn) -> TokensOut:
    """Trade a refresh token for a new pair. Each refresh token works once: reusing one signs out
    every session descended from the same sign-in."""
    return _tokens(tokens.refresh(body.refresh_token))


@router.post("/logout", status_code=204)
def logout(body: RefreshIn, session: DbSession, request: Request) -> Response:
    """Revoke the presented refresh token and every token rotated from the same sign-in."""
    service.logout(session, body.refresh_token, ip=_client_ip(request))
    return Response(status_code=204)


@router.get("/me", response_model=MeOut)
def me(auth: Annotated[Authentication, Depends(authenticate)], session: DbSession) -> MeOut:
    """You, your teams and your role in each; `blocked_by_2fa` marks a team you cannot act in until
    you turn on two-factor sign-in (the team requires it)."""
    satisfied = two_factor_satisfied(session, auth)
    memberships = [MembershipOut(team=TeamOut.model_validate(team), role=role,
                                 blocked_by_2fa=team.require_2fa and not satisfied)
                   for team, role in users.memberships(session, auth.user.id)]
    return MeOut(user=UserOut.model_validate(auth.user), memberships=memberships,
                 two_factor_enabled=two_factor.is_enabled(session, auth.user.id))


@router.post("/password-reset/request", status_code=202, response_model=Accepted)
def request_password_reset(body: PasswordResetRequestIn, session: DbSession,
                           background: BackgroundTasks) -> Accepted:
    """Always 202, whether or not the account exists; the link is mailed and works for one hour."""
    mail = service.request_password_reset(session, body.email)
    if mail is not None:  # sent after the response, so timing does not tell whether the account exists
        background.add_task(send_in_background, mail)
    return Accepted(message="if an account with this email exists, a reset link is on its way")


@router.post("/password-reset/confirm", status_code=204)
def confirm_password_reset(body: PasswordResetConfirmIn, session: DbSession) -> Response:
    """Set a new password with a reset token (single use); every session of the account is signed out."""
    service.confirm_password_reset(session, token=body.token, new_password=body.new_password)
    return Response(status_code=204)
