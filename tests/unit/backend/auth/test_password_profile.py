"""Passwords are hashed as shipped with argon2id's RFC 9106 low-memory profile. The tests themselves hash with
the cheapest profile (tests/conftest.py), so what the module does on its own is checked in a fresh process."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from backend.auth import passwords

ROOT = Path(__file__).resolve().parents[4]

SHIPPED = "from backend.auth import passwords; print(passwords.hash_password('correct horse battery staple'))"


def test_a_password_is_hashed_with_argon2id_at_64_mib_3_passes_and_4_lanes():
    made = subprocess.run([sys.executable, "-c", SHIPPED], cwd=ROOT, capture_output=True, text=True,
                          check=True).stdout.strip()
    assert made.startswith("$argon2id$v=19$m=65536,t=3,p=4$")
    assert passwords.verify_password(made, "correct horse battery staple")  # checked with the hash's parameters
    assert not passwords.verify_password(made, "correct horse battery stapler")


def test_a_hash_that_is_not_argon2_verifies_nothing():
    assert not passwords.verify_password("not a hash", "not a hash")
