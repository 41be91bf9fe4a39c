"""Every test gets its own data directory and fresh settings/engine caches."""

from __future__ import annotations

import logging

import pytest

from backend.billing import gate as billing_gate
from backend.billing import stripe_api
from backend.db import session as db_session
from backend.sandbox import code_sandbox
from backend.settings import get_settings
from backend.storage.service import get_storage

# The test SMTP servers (aiosmtpd) log every connection at INFO from their own threads, also after the test
# that started them ended and its captured stream was closed ("--- Logging error ---" in the output).
logging.getLogger("mail.log").setLevel(logging.WARNING)


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
    if db_session.get_engine.cache_info().currsize:
        db_session.get_engine().dispose()
    db_session.get_engine.cache_clear()
    db_session._session_factory.cache_clear()


@pytest.fixture(autouse=True)
def isolated_settings(tmp_path, monkeypatch):
    monkeypatch.setenv("LINKFLOW_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("LINKFLOW_DATABASE_URL", raising=False)
    monkeypatch.delenv("LINKFLOW_REDIS_URL", raising=False)
    reset_caches()
    yield
    reset_caches()


@pytest.fixture
def configure(monkeypatch):
    """Set LINKFLOW_* variables for this test: configure(DATABASE_URL="...")."""

    def apply(**env: str) -> None:
        for key, value in env.items():
            monkeypatch.setenv(f"LINKFLOW_{key}", value)
        reset_caches()

    return apply
