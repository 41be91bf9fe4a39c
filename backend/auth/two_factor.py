"""Two-factor sign-in (TOTP) of password accounts: enrolment, the code check, recovery codes,
turning it off, and the instance admin's reset. The only writer of two_factor_secrets and
recovery_codes.

The secret is sealed by the vault (AES-256-GCM, bound to the user) and shown once, while
enrolment is pending; it is never returned after the user confirmed it with a valid code.
A code is accepted once: the newest accepted time step is kept, and only a newer one passes.
Recovery codes are shown once and stored as sha256; each works once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from backend.auth import audit, totp
from backend.auth.attempts import Attempt, Rejected, guarded
from backend.auth.models import RecoveryCode, TwoFactorSecret
from backend.auth.passwords import verify_password
from backend.credentials.crypto import current_vault
from backend.db.base import utcnow
from backend.errors import Conflict, UserError
from backend.users.models import User

WRONG_CODE = "the code is wrong or was already used; type the current code from your authenticator app"


@dataclass(frozen=True)
class Enrolment:
    secret: str  # base32, for typing into an authenticator by hand
    otpauth_uri: str
    qr_code: str  # an SVG data: URI of the otpauth URI


@dataclass(frozen=True)
class Status:
    enabled: bool
    pending: bool  # enrolment started, not confirmed yet
    enabled_at: datetime | None
    recovery_codes_left: int


def _aad(user_id: str) -> bytes:
    return f"totp:{user_id}".encode()


def _row(session: Session, user_id: str) -> TwoFactorSecret | None:
    return session.get(TwoFactorSecret, user_id)


def _secret(row: TwoFactorSecret) -> str:
    what = "the two-factor secret of this account"
    return current_vault().open(row.key_id, row.ciphertext, _aad(row.user_id), what).decode()


def is_enabled(session: Session, user_id: str) -> bool:
    return session.scalar(select(TwoFactorSecret.confirmed_at).where(TwoFactorSecret.user_id == user_id)) \
        is not None


def status(session: Session, user_id: str) -> Status:
    row = _row(session, user_id)
    enabled = row is not None and row.confirmed_at is not None
    return Status(enabled=enabled, pending=row is not None and not enabled,
                  enabled_at=row.confirmed_at if row else None,
                  recovery_codes_left=_codes_left(session, user_id) if enabled else 0)


def _codes_left(session: Session, user_id: str) -> int:
    return session.scalar(select(func.count()).select_from(RecoveryCode)
                          .where(RecoveryCode.user_id == user_id, RecoveryCode.used_at.is_(None))) or 0


def start_enrolment(session: Session, user: User) -> Enrolment:
    """A new secret, pending until confirm_enrolment(); starting again replaces a pending one."""
    if not user.password_hash:
        raise UserError("two-factor sign-in protects password sign-ins, and this account signs in with an "
                        "identity provider only; set a password with \"Forgot password\" first")
    row = _row(session, user.id)
    if row is not None and row.confirmed_at is not None:
        raise Conflict("two-factor sign-in is already on; turn it off first to move it to another device")
    secret = totp.new_secret()
    key_id, ciphertext = current_vault().seal(secret.encode(), _aad(user.id))
    if row is None:
        session.add(TwoFactorSecret(user_id=user.id, key_id=key_id, ciphertext=ciphertext, last_used_step=0))
    else:
        row.key_id, row.ciphertext, row.last_used_step, row.created_at = key_id, ciphertext, 0, utcnow()
    uri = totp.provisioning_uri(secret, user.email)
    return Enrolment(secret=secret, otpauth_uri=uri, qr_code=totp.qr_code_svg(uri))


def confirm_enrolment(session: Session, user: User, code: str, *, ip: str | None = None) -> list[str]:
    """Turn two-factor sign-in on with a valid code for the pending secret; the recovery codes, shown once."""
    row = _row(session, user.id)
    if row is None or row.confirmed_at is not None:
        raise Conflict("there is no enrolment to confirm; start one with POST /api/v1/auth/2fa/setup"
                       if row is None else "two-factor sign-in is already on")
    step = totp.matching_step(_secret(row), code, after_step=row.last_used_step)
    if step is None:
        raise UserError("the code does not match; check that your device's clock is right and type the "
                        "current 6-digit code")
    row.confirmed_at, row.last_used_step = utcnow(), step
    codes = _replace_recovery_codes(session, user.id)
    audit.record_for_user_teams(session, "user.2fa_enabled", user.id, actor_id=user.id, ip=ip)
    return codes


def check(session: Session, attempt: Attempt, user: User, code: str, *, status_code: int = 401) -> str:
    """Verify a TOTP code or a recovery code (guarded: throttled, audited); how it was proven."""
    with guarded(attempt):
        return _verify(session, user, code, status_code)


def _verify(session: Session, user: User, code: str, status_code: int) -> str:
    row = _row(session, user.id)
    if row is None or row.confirmed_at is None:
        raise Conflict("two-factor sign-in is not on for this account")
    text = "".join(code.split())
    if not totp.looks_like_code(text):
        if not _use_recovery_code(session, user.id, text):
            raise Rejected("the recovery code is wrong or was already used", "wrong_recovery_code",
                           method="recovery_code", status_code=status_code)
        left = _codes_left(session, user.id)
        audit.record_for_user_teams(session, "auth.recovery_code_used", user.id, actor_id=user.id,
                                    details={"recovery_codes_left": left})
        return "recovery_code"
    secret = _secret(row)
    step = totp.matching_step(secret, text, after_step=row.last_used_step)
    if step is None:
        replayed = totp.matching_step(secret, text, after_step=-1) is not None
        raise Rejected(WRONG_CODE, "replayed_code" if replayed else "wrong_code", method="totp",
                       status_code=status_code)
    if not _claim_step(session, user.id, step):
        raise Rejected(WRONG_CODE, "replayed_code", method="totp", status_code=status_code)
    return "totp"


def _claim_step(session: Session, user_id: str, step: int) -> bool:
    """Record `step` as used unless it (or a newer one) already was, by any request on any pod."""
    result = session.execute(update(TwoFactorSecret)
                             .where(TwoFactorSecret.user_id == user_id, TwoFactorSecret.last_used_step < step)
                             .values(last_used_step=step)
                             .execution_options(synchronize_session=False))
    return _won(session, result.rowcount)


def _use_recovery_code(session: Session, user_id: str, code: str) -> bool:
    unused = (RecoveryCode.user_id == user_id, RecoveryCode.code_hash == totp.recovery_code_hash(code),
              RecoveryCode.used_at.is_(None))
    if session.scalar(select(RecoveryCode.id).where(*unused)) is None:
        return False  # decided by a read: a refusal takes no write lock
    result = session.execute(update(RecoveryCode).where(*unused).values(used_at=utcnow())
                             .execution_options(synchronize_session=False))
    return _won(session, result.rowcount)


def _won(session: Session, rowcount: int) -> bool:
    """Whether a conditional UPDATE changed its row. When a concurrent request got there first, the
    transaction is rolled back at once: on SQLite it holds the write lock, and the refusal is about
    to be audited in a transaction of its own."""
    if rowcount != 1:
        session.rollback()
    return rowcount == 1


def _replace_recovery_codes(session: Session, user_id: str) -> list[str]:
    session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user_id))
    codes = totp.new_recovery_codes()
    session.add_all(RecoveryCode(user_id=user_id, code_hash=totp.recovery_code_hash(c)) for c in codes)
    return codes


def regenerate_recovery_codes(session: Session, attempt: Attempt, user: User, code: str) -> list[str]:
    """New recovery codes (the old ones stop working) for a current TOTP or recovery code."""
    check(session, attempt, user, code, status_code=403)
    codes = _replace_recovery_codes(session, user.id)
    audit.record_for_user_teams(session, "user.2fa_recovery_codes_regenerated", user.id, actor_id=user.id,
                                ip=attempt.ip)
    attempt.throttle.succeeded(user.email)
    return codes


def disable(session: Session, attempt: Attempt, user: User, *, password: str, code: str) -> None:
    """Turn two-factor sign-in off: needs the password and a current TOTP or recovery code."""
    with guarded(attempt):
        if not user.password_hash or not verify_password(user.password_hash, password):
            raise Rejected("the password is wrong; two-factor sign-in stays on", "wrong_password",
                           status_code=403)
        _verify(session, user, code, 403)
    _remove(session, user.id)
    audit.record_for_user_teams(session, "user.2fa_disabled", user.id, actor_id=user.id, ip=attempt.ip)
    attempt.throttle.succeeded(user.email)


def admin_reset(session: Session, actor_id: str, user: User) -> None:
    """An instance admin turns a user's two-factor sign-in off (e.g. a lost phone)."""
    if _row(session, user.id) is None:
        raise Conflict(f"{user.email} has no two-factor sign-in to reset")
    _remove(session, user.id)
    audit.record(session, "admin.user_2fa_reset", actor_id=actor_id, team_id=None, object_type="user",
                 object_id=user.id, details={"email": user.email})


def _remove(session: Session, user_id: str) -> None:
    session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user_id))
    session.execute(delete(TwoFactorSecret).where(TwoFactorSecret.user_id == user_id))


def reseal_secrets(session: Session) -> int:
    """Re-encrypt every secret under the vault's current key (`linkflow credentials rotate-key`)."""
    rows = session.scalars(select(TwoFactorSecret).order_by(TwoFactorSecret.user_id).with_for_update()).all()
    vault = current_vault()
    for row in rows:
        row.key_id, row.ciphertext = vault.seal(_secret(row).encode(), _aad(row.user_id))
    return len(rows)
