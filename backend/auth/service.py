"""Sign-up, sign-in (password or OAuth) and password reset. Tokens live in tokens.py."""

from __future__ import annotations

import functools
import secrets
from datetime import timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from backend.auth import audit, tokens
from backend.auth.models import PasswordResetToken
from backend.auth.passwords import hash_password, verify_password
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


class LoginFailed(Unauthorized):
    """A refused sign-in; `user_id` names the account it was for, if one exists (for the audit trail)."""

    def __init__(self, user_id: str | None, reason: str) -> None:
        super().__init__(BAD_CREDENTIALS)
        self.user_id, self.reason = user_id, reason


def login(session: Session, *, email: str, password: str, ip: str | None = None) -> tuple[User, TokenPair]:
    user = users.find_by_email(session, email)
    if user is None or not user.password_hash:
        verify_password(_dummy_hash(), password)  # same work whether or not the account exists
        raise LoginFailed(user.id if user else None, "no_password" if user else "unknown_email")
    if not verify_password(user.password_hash, password):
        raise LoginFailed(user.id, "wrong_password")
    if not user.is_active:
        raise LoginFailed(user.id, "disabled")
    audit.record_for_user_teams(session, "auth.login", user.id, actor_id=user.id,
                                details={"method": "password"}, ip=ip)
    return user, _sign_in(session, user)


def record_failed_login(session: Session, failure: LoginFailed, *, email: str, ip: str | None) -> None:
    """Audit a refused sign-in in its own transaction (the request's is rolled back). Only attempts on
    an existing account reach a team's trail; the email is kept as typed only when no account has it."""
    details = {"method": "password", "reason": failure.reason}
    if failure.user_id is None:
        details["email"] = email.strip().lower()[:320]
        audit.record(session, "auth.login_failed", actor_id=None, team_id=None, object_type="user",
                     object_id="", details=details, ip=ip)
        return
    audit.record_for_user_teams(session, "auth.login_failed", failure.user_id, actor_id=None,
                                details=details, ip=ip)


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
    audit.record_for_user_teams(session, "auth.login", user.id, actor_id=user.id,
                                details={"method": "oauth", "provider": provider})
    return user, _sign_in(session, user)


def _sign_in(session: Session, user: User) -> TokenPair:
    user.last_login_at = utcnow()
    return tokens.issue_pair(session, user.id)


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
