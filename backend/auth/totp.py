"""RFC 6238 time-based one-time passwords (SHA1, 6 digits, 30 s steps, one step of clock skew
either way), the enrolment QR code, and recovery codes.

Only pure functions here; two_factor.py stores secrets (sealed by the vault) and the last
step a code was accepted for, so that a code works once.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from collections.abc import Callable

import pyotp

ISSUER = "LinkFlow"
STEP_SECONDS = 30
DIGITS = 6
SKEW_STEPS = 1  # accept the previous and the next step's code too (clocks drift, people type slowly)
RECOVERY_CODES = 10
_RECOVERY_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i: read off paper without doubt
_RECOVERY_GROUPS, _RECOVERY_GROUP_LEN = 4, 4  # 16 characters, ~79 bits: a sha256 of it is safe to store

clock: Callable[[], float] = time.time  # replaceable in tests


def new_secret() -> str:
    """A random 160-bit secret, base32 as authenticator apps expect it."""
    return pyotp.random_base32()


def current_step() -> int:
    return int(clock() // STEP_SECONDS)


def code_for(secret: str, step: int) -> str:
    return pyotp.TOTP(secret, digits=DIGITS, interval=STEP_SECONDS).generate_otp(step)


def looks_like_code(text: str) -> bool:
    return len(text) == DIGITS and text.isdigit()


def matching_step(secret: str, code: str, *, after_step: int) -> int | None:
    """The time step (within the skew, newer than `after_step`) whose code `code` is, else None."""
    code = code.strip().replace(" ", "")
    if not looks_like_code(code):
        return None
    now = current_step()
    for step in range(max(now - SKEW_STEPS, after_step + 1), now + SKEW_STEPS + 1):
        if hmac.compare_digest(code_for(secret, step), code):
            return step
    return None


def provisioning_uri(secret: str, email: str) -> str:
    """The otpauth:// URI an authenticator app reads from the QR code."""
    return pyotp.TOTP(secret, digits=DIGITS, interval=STEP_SECONDS).provisioning_uri(name=email,
                                                                                     issuer_name=ISSUER)


def qr_code_svg(uri: str) -> str:
    """The URI as a QR code: an SVG image in a data: URI, for an <img src>."""
    import segno  # only when someone sets up two-factor login: ~40 ms less at every start

    return segno.make(uri, error="m").svg_data_uri(scale=5, border=2)


def new_recovery_codes() -> list[str]:
    return ["-".join("".join(secrets.choice(_RECOVERY_ALPHABET) for _ in range(_RECOVERY_GROUP_LEN))
                     for _ in range(_RECOVERY_GROUPS)) for _ in range(RECOVERY_CODES)]


def recovery_code_hash(code: str) -> str:
    """What is stored of a recovery code; typed case, spaces and dashes do not matter."""
    normalised = "".join(code.lower().split()).replace("-", "")
    return hashlib.sha256(normalised.encode()).hexdigest()
