"""Password hashing with argon2id (parameters from argon2-cffi's RFC 9106 low-memory profile).

The parameters go into each hash, so a hash verifies with the parameters it was made with. The unit
tests hash with argon2-cffi's cheapest profile instead (tests/conftest.py); a test checks that this
module, imported on its own, hashes with ``PROFILE``."""

from argon2 import PasswordHasher, profiles
from argon2.exceptions import InvalidHashError, VerifyMismatchError

PROFILE = profiles.RFC_9106_LOW_MEMORY  # argon2id, 64 MiB, 3 passes, 4 lanes: ~0.15 s a hash here
_hasher = PasswordHasher.from_parameters(PROFILE)
MIN_LENGTH = 8


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerifyMismatchError, InvalidHashError):
        return False
