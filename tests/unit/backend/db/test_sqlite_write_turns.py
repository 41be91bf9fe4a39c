"""SQLite writers of one process take turns through a lock (backend/db/session.py ``_take_turns_writing``),
instead of sleeping in SQLite's busy handler (1, 2, 5, 10 ms ...) while another writer holds the database."""

from __future__ import annotations

import threading
import time

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from backend.db import session as db_session


@pytest.fixture
def engine(tmp_path, monkeypatch):
    monkeypatch.setattr(db_session, "WRITE_TURN_WAIT_S", 3.0)
    engine = db_session._sqlite_engine(f"sqlite:///{tmp_path}/turns.db", False)
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE t (n INTEGER)"))
    yield engine
    engine.dispose()


def _write_without_busy_wait(engine, n: int, done: list) -> None:
    """Insert with SQLite's own busy timeout at 0: were the database locked, this fails at once."""
    with engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA busy_timeout=0")
        conn.commit()  # the PRAGMA began SQLAlchemy's transaction (not SQLite's: no write yet)
        with conn.begin():
            conn.execute(text("INSERT INTO t VALUES (:n)"), {"n": n})
        done.append(time.monotonic())


def test_a_second_writer_waits_for_the_first_to_commit_and_never_finds_the_database_locked(engine):
    done: list[float] = []
    with engine.connect() as first:
        first.begin()
        first.execute(text("INSERT INTO t VALUES (1)"))  # holds SQLite's write lock from here to its commit
        second = threading.Thread(target=_write_without_busy_wait, args=(engine, 2, done))
        second.start()
        time.sleep(0.3)
        assert done == []  # waiting for its turn, not failed with "database is locked"
        assert first.execute(text("SELECT count(*) FROM t")).scalar() == 1
        committed = time.monotonic()
        first.commit()
        second.join(5)
    assert len(done) == 1 and done[0] >= committed
    with engine.connect() as conn:
        assert sorted(conn.execute(text("SELECT n FROM t")).scalars()) == [1, 2]


def test_readers_take_no_turn(engine):
    with engine.connect() as writer:
        writer.begin()
        writer.execute(text("INSERT INTO t VALUES (1)"))
        with engine.connect() as reader:
            started = time.monotonic()
            assert reader.execute(text("SELECT count(*) FROM t")).scalar() == 0  # WAL: the committed state
            assert time.monotonic() - started < 0.5
        writer.rollback()


def test_a_rollback_an_error_or_a_connection_handed_back_ends_the_turn(engine):
    with engine.connect() as conn:
        conn.begin()
        conn.execute(text("INSERT INTO t VALUES (1)"))
        conn.rollback()
    with pytest.raises(OperationalError), engine.begin() as conn:
        conn.execute(text("INSERT INTO missing VALUES (1)"))
    conn = engine.connect()
    conn.begin()
    conn.execute(text("INSERT INTO t VALUES (2)"))
    conn.close()  # handed back to the pool uncommitted: rolled back, and the turn with it
    done: list[float] = []
    _write_without_busy_wait(engine, 3, done)
    assert len(done) == 1


def test_a_writer_that_never_commits_is_refused_after_the_wait_not_hung(engine, monkeypatch):
    monkeypatch.setattr(db_session, "WRITE_TURN_WAIT_S", 3.0)
    with engine.connect() as first:
        first.begin()
        first.execute(text("INSERT INTO t VALUES (1)"))
        errors: list[BaseException] = []

        def second() -> None:
            try:
                with engine.begin() as conn:
                    conn.execute(text("INSERT INTO t VALUES (2)"))
            except OperationalError as exc:
                errors.append(exc)

        thread = threading.Thread(target=second)
        thread.start()
        thread.join(10)
        first.rollback()
    assert len(errors) == 1 and "database is locked" in str(errors[0])
