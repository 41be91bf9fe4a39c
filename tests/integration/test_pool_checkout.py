"""A pooled PostgreSQL connection is checked without a round trip per checkout (backend/db/session.py):
one the server closed is replaced before anyone uses it, one in good order is handed out as it is, and
one idle for longer than IDLE_PING_S is pinged first."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import create_engine, text

from backend.db import session as db_session
from backend.db.session import make_engine


@pytest.fixture
def engine(postgres_url):
    engine = make_engine(postgres_url, pool_size=1)
    yield engine
    engine.dispose()


@pytest.fixture
def admin(postgres_url):
    admin = create_engine(postgres_url, isolation_level="AUTOCOMMIT")
    yield admin
    admin.dispose()


@pytest.fixture
def pings(engine, monkeypatch):
    sent = []
    real = engine.dialect.do_ping

    def counting(dbapi_connection):
        sent.append(dbapi_connection)
        return real(dbapi_connection)

    monkeypatch.setattr(engine.dialect, "do_ping", counting)
    return sent


def backend_pid(engine) -> int:
    with engine.connect() as conn:
        return conn.execute(text("SELECT pg_backend_pid()")).scalar_one()


def wait_closed(admin, pid: int) -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        with admin.connect() as conn:
            if not conn.execute(text("SELECT count(*) FROM pg_stat_activity WHERE pid = :pid"), {"pid": pid}).scalar():
                return
        time.sleep(0.05)
    raise AssertionError(f"backend {pid} still there")


def test_a_connection_in_good_order_is_handed_out_without_a_ping(engine, pings):
    first = backend_pid(engine)
    for _ in range(20):
        assert backend_pid(engine) == first  # the same pooled connection each time
    assert pings == []


def test_a_connection_the_server_closed_is_replaced_before_it_is_used(engine, admin, pings):
    first = backend_pid(engine)
    with admin.connect() as conn:
        assert conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": first}).scalar() is True
    wait_closed(admin, first)
    time.sleep(0.2)  # the server's last message and the end of the stream reach our socket

    second = backend_pid(engine)  # no error: the pool took a new connection

    assert second != first
    assert len(pings) == 1  # the closed one was pinged (and failed); the new one was not


def test_a_connection_idle_past_the_limit_is_pinged_first(engine, pings, monkeypatch):
    first = backend_pid(engine)
    monkeypatch.setattr(db_session, "IDLE_PING_S", 0.05)
    time.sleep(0.1)

    assert backend_pid(engine) == first  # the ping passed: the same connection
    assert len(pings) == 1
