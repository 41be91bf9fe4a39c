"""API keys: `lf_` + 32 random bytes, shown once; only a sha256 hash and a prefix are kept."""

from __future__ import annotations

import secrets
from datetime import timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from backend.auth.models import ApiKey
from backend.auth.tokens import sha256
from backend.db.base import utcnow
from backend.errors import NotFound

KEY_PREFIX = "lf_"
TOUCH_INTERVAL = timedelta(minutes=1)  # last_used_at is a hint, not a log: write it at most this often


def looks_like_key(credential: str) -> bool:
    return credential.startswith(KEY_PREFIX)


def create_key(session: Session, *, team_id: str, user_id: str, name: str,
               expires_in_days: int | None = None) -> tuple[ApiKey, str]:
    """(row, the secret key): the secret cannot be recovered later."""
    raw = KEY_PREFIX + secrets.token_urlsafe(32)
    expires_at = utcnow() + timedelta(days=expires_in_days) if expires_in_days else None
    key = ApiKey(team_id=team_id, user_id=user_id, name=name, prefix=raw[len(KEY_PREFIX):][:8],
                 key_hash=sha256(raw), expires_at=expires_at)
    session.add(key)
    session.flush()
    return key, raw


def find_usable(session: Session, raw: str) -> ApiKey | None:
    """The live key for this secret (not revoked, not expired), touching last_used_at; else None."""
    key = session.scalar(select(ApiKey).where(ApiKey.key_hash == sha256(raw)))
    now = utcnow()
    if key is None or key.revoked_at or (key.expires_at and key.expires_at <= now):
        return None
    if key.last_used_at is None or now - key.last_used_at >= TOUCH_INTERVAL:
        key.last_used_at = now
    return key


def list_keys(session: Session, team_id: str) -> list[ApiKey]:
    query = (select(ApiKey).where(ApiKey.team_id == team_id, ApiKey.revoked_at.is_(None))
             .order_by(ApiKey.created_at, ApiKey.id))
    return list(session.scalars(query))


def get_key(session: Session, team_id: str, key_id: str) -> ApiKey:
    """The team's live key; another team's key answers exactly like a missing one."""
    key = session.get(ApiKey, key_id)
    if key is None or key.team_id != team_id or key.revoked_at:
        raise NotFound(f"API key {key_id} not found")
    return key


def revoke(session: Session, key: ApiKey) -> None:
    key.revoked_at = utcnow()


def revoke_user_keys(session: Session, team_id: str, user_id: str) -> int:
    """Revoke a user's keys in one team (they left it); returns how many."""
    result = session.execute(
        update(ApiKey)
        .where(ApiKey.team_id == team_id, ApiKey.user_id == user_id, ApiKey.revoked_at.is_(None))
        .values(revoked_at=utcnow())
        .execution_options(synchronize_session=False))
    return result.rowcount
