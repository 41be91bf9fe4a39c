"""Short-lived JWT access tokens and rotating opaque refresh tokens.

A refresh token is used once: refreshing marks it rotated and issues a new one in the
same family. Presenting a rotated or revoked token means it leaked (or a client raced
itself), so the whole family is revoked and its holder must sign in again.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import timedelta

import jwt
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from backend.auth.models import RefreshToken
from backend.db.base import new_id, utcnow
from backend.db.session import session_scope
from backend.errors import Unauthorized
from backend.settings import get_settings
from backend.users.models import User

ALGORITHM = "HS256"
ACCESS = "access"
MFA = "mfa"
MFA_LIFETIME = timedelta(minutes=5)
# How a sign-in was proven. OAuth sign-ins leave the second factor to the identity provider.
METHODS = ("password", "password+totp", "password+recovery_code", "oauth")


class MfaTokenInvalid(Unauthorized):
    code = "mfa_token_invalid"


@dataclass(frozen=True)
class TokenPair:
    access_token: str
    refresh_token: str
    expires_in: int  # seconds until the access token expires
    token_type: str = "bearer"


def sha256(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def issue_access_token(user_id: str, session_id: str | None = None,
                       method: str = "password") -> tuple[str, int]:
    """A short-lived JWT. ``session_id`` (the sign-in's refresh-token family) ties it to that sign-in:
    once the sign-in is revoked (logout, password change, refresh-token reuse) the token stops working.
    ``method`` says how the sign-in was proven (one of METHODS)."""
    security = get_settings().security
    lifetime = security.access_token_minutes * 60
    now = utcnow()
    claims = {"sub": user_id, "iat": now, "exp": now + timedelta(seconds=lifetime),
              "jti": uuid.uuid4().hex, "type": ACCESS, "method": method}
    if session_id is not None:
        claims["sid"] = session_id
    return jwt.encode(claims, security.secret_key, algorithm=ALGORITHM), lifetime


def issue_mfa_token(user_id: str) -> tuple[str, int]:
    """The proof that the password step of a sign-in passed, good for MFA_LIFETIME and only for
    POST /auth/login/mfa: it is not an access token (its type is ``mfa``)."""
    now = utcnow()
    claims = {"sub": user_id, "iat": now, "exp": now + MFA_LIFETIME, "jti": uuid.uuid4().hex, "type": MFA}
    lifetime = int(MFA_LIFETIME.total_seconds())
    return jwt.encode(claims, get_settings().security.secret_key, algorithm=ALGORITHM), lifetime


def decode_mfa_token(token: str) -> str:
    """The user id a valid mfa token was issued to; Unauthorized if it is forged, expired or another kind."""
    try:
        claims = jwt.decode(token, get_settings().security.secret_key, algorithms=[ALGORITHM],
                            options={"require": ["sub", "exp", "iat", "jti"]})
    except jwt.InvalidTokenError:
        claims = {}
    if claims.get("type") != MFA:
        raise MfaTokenInvalid("this two-factor sign-in expired or is not valid; sign in with your password again")
    return claims["sub"]


def decode_access_token(token: str) -> dict:
    """The verified claims; Unauthorized if the token is forged, malformed or expired."""
    try:
        claims = jwt.decode(token, get_settings().security.secret_key, algorithms=[ALGORITHM],
                            options={"require": ["sub", "exp", "iat", "jti"]})
    except jwt.ExpiredSignatureError:
        raise Unauthorized("the access token has expired; "
                           "get a new one with POST /api/v1/auth/refresh") from None
    except jwt.InvalidTokenError:
        raise Unauthorized("the access token is invalid; sign in again") from None
    if claims.get("type") != ACCESS:
        raise Unauthorized("this is not an access token; sign in again")
    return claims


def issue_pair(session: Session, user_id: str, family_id: str | None = None,
               method: str = "password") -> TokenPair:
    raw = secrets.token_urlsafe(32)
    days = get_settings().security.refresh_token_days
    family_id = family_id or new_id()
    session.add(RefreshToken(user_id=user_id, family_id=family_id, token_hash=sha256(raw),
                             expires_at=utcnow() + timedelta(days=days), auth_method=method))
    access, lifetime = issue_access_token(user_id, family_id, method)
    return TokenPair(access_token=access, refresh_token=raw, expires_in=lifetime)


def refresh(raw: str) -> TokenPair:
    """A new pair for a valid refresh token, which this call uses up.

    It runs its own transaction: when reuse is detected, the family's revocation must be
    committed before the 401 goes out (the request's own transaction rolls back on errors).
    """
    with session_scope() as session:
        token = session.scalar(select(RefreshToken).where(RefreshToken.token_hash == sha256(raw)))
        if token is None or token.expires_at <= utcnow() or not _user_active(session, token.user_id):
            raise Unauthorized("the refresh token is not valid or has expired; sign in again")
        reused = bool(token.rotated_at or token.revoked_at) or not _claim(session, token)
        if reused:
            revoke_family(session, token.family_id)
        else:
            pair = issue_pair(session, token.user_id, token.family_id, token.auth_method)
    if reused:
        raise Unauthorized("this refresh token was already used, so every session it started has been "
                           "signed out; sign in again")
    return pair


def sign_in_active(session: Session, session_id: str) -> bool:
    """Whether the sign-in (refresh-token family) an access token belongs to is still signed in."""
    return session.scalar(select(RefreshToken.id).where(
        RefreshToken.family_id == session_id, RefreshToken.revoked_at.is_(None)).limit(1)) is not None


def _user_active(session: Session, user_id: str) -> bool:
    return bool(session.scalar(select(User.is_active).where(User.id == user_id)))


def _claim(session: Session, token: RefreshToken) -> bool:
    """Mark the token rotated unless a concurrent request got there first."""
    result = session.execute(
        update(RefreshToken)
        .where(RefreshToken.id == token.id, RefreshToken.rotated_at.is_(None),
               RefreshToken.revoked_at.is_(None))
        .values(rotated_at=utcnow())
        .execution_options(synchronize_session=False))
    return result.rowcount == 1


def revoke_family(session: Session, family_id: str) -> None:
    session.execute(update(RefreshToken)
                    .where(RefreshToken.family_id == family_id, RefreshToken.revoked_at.is_(None))
                    .values(revoked_at=utcnow())
                    .execution_options(synchronize_session=False))


def revoke_presented(session: Session, raw: str) -> str | None:
    """Logout: revoke the family of the presented token (unknown tokens are ignored); whose it was."""
    row = session.execute(select(RefreshToken.family_id, RefreshToken.user_id)
                          .where(RefreshToken.token_hash == sha256(raw))).first()
    if row is None:
        return None
    revoke_family(session, row.family_id)
    return row.user_id


def revoke_all_for_user(session: Session, user_id: str) -> None:
    session.execute(update(RefreshToken)
                    .where(RefreshToken.user_id == user_id, RefreshToken.revoked_at.is_(None))
                    .values(revoked_at=utcnow())
                    .execution_options(synchronize_session=False))
