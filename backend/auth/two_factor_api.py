"""/api/v1/auth/2fa: your own two-factor sign-in (TOTP). Signed-in sessions only, not API keys.

Enrol: POST /setup (a secret and its QR code) → POST /enable with a current code (→ 10 recovery
codes, shown once). Then sign-in asks for a code; POST /recovery-codes replaces the codes and
POST /disable turns it off (password and a code).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response

from backend.auth import two_factor
from backend.auth.attempts import Attempt
from backend.auth.deps import Authentication, Throttle, authenticate
from backend.auth.schemas import (
    RecoveryCodesOut,
    TwoFactorCodeIn,
    TwoFactorDisableIn,
    TwoFactorSetupOut,
    TwoFactorStatusOut,
)
from backend.db.deps import CommittingRoute, DbSession
from backend.errors import Forbidden
from backend.users.models import User

router = APIRouter(route_class=CommittingRoute, prefix="/auth/2fa", tags=["auth"])


def signed_in_user(auth: Annotated[Authentication, Depends(authenticate)]) -> User:
    if auth.api_key is not None:
        raise Forbidden("two-factor settings need a signed-in session, not an API key")
    return auth.user


Me = Annotated[User, Depends(signed_in_user)]


def _attempt(throttle, user: User, request: Request) -> Attempt:
    ip = request.client.host if request.client else None
    return Attempt(throttle, user.email, user.id, "user.2fa_check_failed", actor_id=user.id, ip=ip)


@router.get("", response_model=TwoFactorStatusOut)
def get_status(user: Me, session: DbSession) -> TwoFactorStatusOut:
    state = two_factor.status(session, user.id)
    return TwoFactorStatusOut(enabled=state.enabled, pending=state.pending, enabled_at=state.enabled_at,
                              recovery_codes_left=state.recovery_codes_left)


@router.post("/setup", response_model=TwoFactorSetupOut)
def setup(user: Me, session: DbSession) -> TwoFactorSetupOut:
    """Start enrolment: a new secret, as text and as a QR code for an authenticator app. Nothing
    changes at sign-in until POST /enable confirms it; calling this again replaces the secret."""
    enrolment = two_factor.start_enrolment(session, user)
    return TwoFactorSetupOut(secret=enrolment.secret, otpauth_uri=enrolment.otpauth_uri,
                             qr_code=enrolment.qr_code)


@router.post("/enable", response_model=RecoveryCodesOut)
def enable(body: TwoFactorCodeIn, user: Me, session: DbSession, request: Request) -> RecoveryCodesOut:
    """Confirm enrolment with the current code from the app: from now on sign-in asks for a code.
    Answers 10 recovery codes, this once."""
    ip = request.client.host if request.client else None
    return RecoveryCodesOut(recovery_codes=two_factor.confirm_enrolment(session, user, body.code, ip=ip))


@router.post("/recovery-codes", response_model=RecoveryCodesOut)
def regenerate(body: TwoFactorCodeIn, user: Me, session: DbSession, request: Request,
               throttle: Throttle) -> RecoveryCodesOut:
    """Replace the recovery codes (the old ones stop working); needs a current code or a recovery code."""
    codes = two_factor.regenerate_recovery_codes(session, _attempt(throttle, user, request), user, body.code)
    return RecoveryCodesOut(recovery_codes=codes)


@router.post("/disable", status_code=204)
def disable(body: TwoFactorDisableIn, user: Me, session: DbSession, request: Request,
            throttle: Throttle) -> Response:
    """Turn two-factor sign-in off; needs your password and a current code (or a recovery code)."""
    two_factor.disable(session, _attempt(throttle, user, request), user, password=body.password, code=body.code)
    return Response(status_code=204)
