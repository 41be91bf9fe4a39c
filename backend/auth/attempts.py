"""Checks of what only an account holder should know or have: a password, a TOTP code, a recovery code.

Every such check runs inside `guarded(...)`: while the account is locked by the per-account
throttle it is refused before anything is verified (429); a `Rejected` raised inside is audited
and counted, and the failure that starts a lock answers 429 too. Refusals are audited in their
own transaction, because the request's is rolled back with the error.

    with guarded(Attempt(throttle, user.email, user.id, "user.2fa_check_failed", ip=ip)):
        if not verify_password(user.password_hash, password):
            raise Rejected("the password is wrong", "wrong_password", method="password", status_code=403)
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from backend.auth import audit
from backend.auth.throttle import AccountLocked, Outcome, SigninThrottle
from backend.db.session import session_scope
from backend.errors import UserError


class Rejected(UserError):
    """A wrong secret (or a refusal about one, e.g. a disabled account when `counted` is False)."""

    status_code = 401
    code = "unauthorized"

    def __init__(self, message: str, reason: str, *, method: str = "password", status_code: int = 401,
                 counted: bool = True) -> None:
        super().__init__(message)
        self.reason, self.method, self.counted = reason, method, counted
        self.status_code = status_code
        self.code = "unauthorized" if status_code == 401 else "forbidden"
        self.headers = {"WWW-Authenticate": "Bearer"} if status_code == 401 else None


@dataclass(frozen=True)
class Attempt:
    throttle: SigninThrottle
    email: str  # the account's key in the throttle, whether or not an account has it
    user_id: str | None  # None: no account has this email
    action: str  # what a refusal is audited as, e.g. auth.login_failed
    actor_id: str | None = None  # the signed-in user making the check, if any
    ip: str | None = None


@contextmanager
def guarded(attempt: Attempt) -> Iterator[None]:
    try:
        attempt.throttle.check(attempt.email)
    except AccountLocked:
        _audit(attempt, {"reason": "locked"}, None)
        raise
    try:
        yield
    except Rejected as rejected:
        outcome = attempt.throttle.failed(attempt.email) if rejected.counted else None
        _audit(attempt, {"method": rejected.method, "reason": rejected.reason}, outcome)
        if outcome is not None and outcome.locked_for:
            raise AccountLocked(outcome.retry_after) from None
        raise


def _audit(attempt: Attempt, details: dict, outcome: Outcome | None) -> None:
    where = {"email": attempt.email, "actor_id": attempt.actor_id, "ip": attempt.ip}
    with session_scope() as session:
        if outcome is not None and outcome.failures:
            details["failures"] = outcome.failures
        audit.record_for_account(session, attempt.action, attempt.user_id, details=details, **where)
        if outcome is not None and outcome.locked_for:
            audit.record_for_account(session, "auth.signin_locked", attempt.user_id, details={
                "after": attempt.action, "failures": outcome.failures, "locked_seconds": outcome.retry_after},
                **where)
