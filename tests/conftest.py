"""Every test gets its own data directory and fresh settings/engine caches."""

from __future__ import annotations

import logging
import shutil
import sqlite3
import tempfile
from contextlib import closing
from pathlib import Path

import pytest
from argon2 import PasswordHasher, profiles

from backend.auth import passwords
from backend.billing import gate as billing_gate
from backend.billing import stripe_api
from backend.db import migrate
from backend.db import session as db_session
from backend.sandbox import code_sandbox
from backend.settings import get_settings
from backend.storage.service import get_storage

# The test SMTP servers (aiosmtpd) log every connection at INFO from their own threads, also after the test
# that started them ended and its captured stream was closed ("--- Logging error ---" in the output).
logging.getLogger("mail.log").setLevel(logging.WARNING)

# Passwords in tests run in this process are hashed with argon2-cffi's cheapest argon2id profile: the real one
# (passwords.PROFILE, ~0.15 s a hash on purpose) took minutes of CPU over the sign-ups and sign-ins of the
# suite. Servers the tests start as processes hash as shipped; tests/unit/backend/auth/test_password_profile.py
# checks what the module does on its own.
passwords._hasher = PasswordHasher.from_parameters(profiles.CHEAPEST)

_migrations = migrate.upgrade
_head: list[Path] = []  # this process's SQLite database migrated to head, made by the real migrations


def _upgrade_from_a_copy(url: str, revision: str = "head") -> None:
    """An empty or new SQLite file migrated to head is a copy of one this process migrated for real once (the
    migrations took ~0.2-0.4 s for each of hundreds of tests). Anything else (another revision, a database
    holding something, PostgreSQL) runs the migrations."""
    path = Path(url.removeprefix("sqlite:///").split("?")[0]) if url.startswith("sqlite:///") else None
    if path is None or revision != "head" or (path.exists() and path.stat().st_size) or str(path) == ":memory:":
        _migrations(url, revision)
        return
    if not _head:
        made = Path(tempfile.mkdtemp(prefix="linkflow-head-")) / "head.db"
        _migrations(f"sqlite:///{made}", "head")
        _head.append(made)
    path.parent.mkdir(parents=True, exist_ok=True)
    # SQLite's backup API: a consistent copy even while a write-ahead log of the template is still around
    with closing(sqlite3.connect(_head[0])) as template, closing(sqlite3.connect(path)) as copy:
        template.backup(copy)


migrate.upgrade = _upgrade_from_a_copy


@pytest.fixture(autouse=True)
def _root_logger_as_it_was():
    """A test that configures logging in this process (backend.logging.configure, the CLI's main) leaves the
    root logger as it found it: its handler must not outlive the test's captured streams."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:], root.level = handlers, level


def pytest_sessionfinish(session) -> None:  # in each pytest-xdist worker too
    for made in _head:
        shutil.rmtree(made.parent, ignore_errors=True)


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_logreport(report) -> None:
    """Captured output that holds text no UTF-8 encoder takes (a test's hostile input in a log line: a lone
    surrogate) is reported escaped: pytest-xdist's workers send reports as UTF-8 and stop on such text."""
    report.sections = [(name, _encodable(text)) for name, text in report.sections]


def _encodable(text: str) -> str:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-8", "backslashreplace").decode("utf-8")
    return text


def reset_caches() -> None:
    get_settings.cache_clear()
    code_sandbox.cache_clear()
    get_storage.cache_clear()
    billing_gate.execution_gate.cache_clear()
    stripe_api.client.cache_clear()
    db_session.dispose_engines()
    db_session._factory.cache_clear()


@pytest.fixture(autouse=True)
def isolated_settings(tmp_path, monkeypatch):
    monkeypatch.setenv("LINKFLOW_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("LINKFLOW_DATABASE_URL", raising=False)
    monkeypatch.delenv("LINKFLOW_REDIS_URL", raising=False)
    reset_caches()
    yield
    _quiet_background_work()
    reset_caches()


def _quiet_background_work() -> None:
    """What a test started and did not wait for ends in that test: its due waits are not sent, and executions
    still running get a moment to end. Left alone, they ran on in the next test and between two tests, where a
    background thread once read the settings with the environment of neither test and the next test's queries
    went to ./data ("no such table: users"; get_settings now clears such a read too)."""
    from backend.executions import timers, worker_runtime

    if timers.wake_ups.cache_info().currsize:
        timers.wake_ups().drop_all()
    worker_runtime.drain(2.0)


@pytest.fixture
def configure(monkeypatch):
    """Set LINKFLOW_* variables for this test: configure(DATABASE_URL="...")."""

    def apply(**env: str) -> None:
        for key, value in env.items():
            monkeypatch.setenv(f"LINKFLOW_{key}", value)
        reset_caches()

    return apply
