"""Sign-up, sign-in (password or OAuth) and password reset. Tokens live in tokens.py."""

from __future__ import annotations

import functools
import secrets
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from backend.auth import audit, tokens, two_factor
from backend.auth.attempts import Attempt, Rejected, guarded
from backend.auth.models import PasswordResetToken
from backend.auth.passwords import hash_password, verify_password
from backend.auth.throttle import SigninThrottle
from backend.auth.tokens import TokenPair, sha256
from backend.db.base import utcnow
from backend.errors import Unauthorized, UserError
from backend.notifications.mail import Mail
from backend.settings import get_settings
from backend.users import service as users
from backend.users.models import Team, User

RESET_LIFETIME = timedelta(hours=1)
BAD_CREDENTIALS = "the email or password is wrong"


@functools.cache
def _dummy_hash() -> str:
    return hash_password(secrets.token_urlsafe(16))


def signup(session: Session, *, email: str, password: str, name: str = "") -> tuple[User, Team, TokenPair]:
    user, team = users.create_user(session, email=email, password=password, name=name)
    audit.record(session, "user.signup", actor_id=user.id, team_id=team.id, object_type="user",
                 object_id=user.id, details={"method": "password"})
    return user, team, _sign_in(session, user)


@dataclass(frozen=True)
class MfaChallenge:
    """The password was right and the account has two-factor sign-in: ask for a code with this token."""

    mfa_token: str
    expires_in: int


def login(session: Session, throttle: SigninThrottle, *, email: str, password: str,
          ip: str | None = None) -> tuple[User, TokenPair] | MfaChallenge:
    """The password step. Refusals are audited and counted per account (attempts.guarded); an account
    with two-factor sign-in gets an MfaChallenge instead of tokens, and its throttle count stays until
    the code step succeeds, so knowing the password does not buy more guesses at the code."""
    user = users.find_by_email(session, email)
    with guarded(Attempt(throttle, email, user.id if user else None, "auth.login_failed", ip=ip)):
        if user is None or not user.password_hash:
            verify_password(_dummy_hash(), password)  # same work whether or not the account exists
            raise Rejected(BAD_CREDENTIALS, "no_password" if user else "unknown_email")
        if not verify_password(user.password_hash, password):
            raise Rejected(BAD_CREDENTIALS, "wrong_password")
        if not user.is_active:
            raise Rejected(BAD_CREDENTIALS, "disabled", counted=False)
    if two_factor.is_enabled(session, user.id):
        token, lifetime = tokens.issue_mfa_token(user.id)
        return MfaChallenge(mfa_token=token, expires_in=lifetime)
    throttle.succeeded(email)
    audit.record_for_user_teams(session, "auth.login", user.id, actor_id=user.id,
                                details={"method": "password"}, ip=ip)
    return user, _sign_in(session, user)


def login_second_factor(session: Session, throttle: SigninThrottle, *, mfa_token: str, code: str,
                        ip: str | None = None) -> tuple[User, TokenPair]:
    """The code step: a TOTP or recovery code for the account the mfa token was issued to."""
    user = session.get(User, tokens.decode_mfa_token(mfa_token))
    if user is None or not user.is_active or not two_factor.is_enabled(session, user.id):
        raise tokens.MfaTokenInvalid("this two-factor sign-in is no longer valid; sign in with your password again")
    method = two_factor.check(session, Attempt(throttle, user.email, user.id, "auth.login_failed", ip=ip),
                              user, code)
    throttle.succeeded(user.email)
    audit.record_for_user_teams(session, "auth.login", user.id, actor_id=user.id,
                                details={"method": "password", "second_factor": method}, ip=ip)
    return user, _sign_in(session, user, f"password+{method}")


def logout(session: Session, refresh_token: str, *, ip: str | None = None) -> None:
    """Revoke the presented refresh token's sign-in; audited when the token was known."""
    user_id = tokens.revoke_presented(session, refresh_token)
    if user_id is not None:
        audit.record_for_user_teams(session, "auth.logout", user_id, actor_id=user_id, ip=ip)


def oauth_login(session: Session, *, email: str, name: str, provider: str) -> tuple[User, TokenPair]:
    """Sign in the owner of a provider-verified email, creating the account on first visit."""
    user = users.find_by_email(session, email)
    if user is None:
        user, team = users.create_user(session, email=email, password=None, name=name)
        audit.record(session, "user.signup", actor_id=user.id, team_id=team.id, object_type="user",
                     object_id=user.id, details={"method": "oauth", "provider": provider})
    if not user.is_active:
        raise Unauthorized("this account is disabled")
    # No code is asked for: the identity provider is in charge of the second factor (as n8n does for SSO).
    audit.record_for_user_teams(session, "auth.login", user.id, actor_id=user.id,
                                details={"method": "oauth", "provider": provider})
    return user, _sign_in(session, user, "oauth")


def _sign_in(session: Session, user: User, method: str = "password") -> TokenPair:
    user.last_login_at = utcnow()
    return tokens.issue_pair(session, user.id, method=method)


def request_password_reset(session: Session, email: str) -> Mail | None:
    """The reset mail to send, or None when there is no such active account (the caller says 202 anyway)."""
    user = users.find_by_email(session, email)
    if user is None or not user.is_active:
        return None
    raw = secrets.token_urlsafe(32)
    session.add(PasswordResetToken(user_id=user.id, token_hash=sha256(raw),
                                   expires_at=utcnow() + RESET_LIFETIME))
    link = f"{get_settings().public_url}/reset-password?token={raw}"
    body = (f"Someone asked to reset the LinkFlow password of {user.email}.\n\n"
            f"Choose a new password here (the link works once, for one hour):\n{link}\n\n"
            "If it was not you, ignore this mail; your password stays as it is.")
    return Mail(to=user.email, subject="Reset your LinkFlow password", body=body)


def confirm_password_reset(session: Session, *, token: str, new_password: str) -> User:
    users.check_password_strength(new_password)
    reset = session.scalar(select(PasswordResetToken).where(PasswordResetToken.token_hash == sha256(token)))
    if reset is None or reset.used_at or reset.expires_at <= utcnow() or not _use(session, reset):
        raise UserError("this password reset link is invalid, used or expired; ask for a new one")
    user = users.get_user(session, reset.user_id)
    users.set_password(session, user, new_password)
    audit.record(session, "user.password_reset", actor_id=user.id, team_id=None, object_type="user",
                 object_id=user.id)
    return user


def _use(session: Session, reset: PasswordResetToken) -> bool:
    """Mark the token used, unless a concurrent request already did (single use)."""
    result = session.execute(update(PasswordResetToken)
                             .where(PasswordResetToken.id == reset.id, PasswordResetToken.used_at.is_(None))
                             .values(used_at=utcnow())
                             .execution_options(synchronize_session=False))
    return result.rowcount == 1
