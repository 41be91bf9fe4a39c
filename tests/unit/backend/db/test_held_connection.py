"""HeldConnection (backend/db/session.py): one writer's connection kept between its transactions, and given up
after an error, when the engine changes, and after being idle, so that a broken or stale connection never
serves a second transaction."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import text

from backend.db.session import HeldConnection, make_engine


@pytest.fixture
def engine(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'held.db'}")
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE t (n INTEGER)"))
    yield engine
    engine.dispose()


def checkout(conn):
    """The pool checkout behind ``conn`` (a fresh one is pre-pinged and reset by the pool; the DBAPI
    connection under it may be the same one, back from the pool)."""
    return conn.connection


def test_transactions_share_one_connection_and_commit(engine):
    held = HeldConnection()
    seen = []
    for n in range(3):
        with held.begin(engine) as conn:
            conn.execute(text("INSERT INTO t VALUES (:n)"), {"n": n})
            seen.append(checkout(conn))
    assert seen[0] is seen[1] is seen[2]
    assert engine.pool.checkedout() == 1  # kept between the transactions
    with engine.connect() as conn:
        assert conn.execute(text("SELECT n FROM t ORDER BY n")).scalars().all() == [0, 1, 2]


def test_an_error_rolls_back_and_the_next_transaction_gets_a_fresh_connection(engine):
    held = HeldConnection()
    with held.begin(engine) as conn:
        first = checkout(conn)
    with pytest.raises(RuntimeError, match="boom"), held.begin(engine) as conn:
        conn.execute(text("INSERT INTO t VALUES (1)"))
        raise RuntimeError("boom")
    with held.begin(engine) as conn:
        assert checkout(conn) is not first
        assert conn.execute(text("SELECT count(*) FROM t")).scalar() == 0


def test_a_new_engine_or_an_idle_spell_gets_a_fresh_connection(engine, tmp_path):
    held = HeldConnection(idle_s=3600)
    with held.begin(engine) as conn:
        first = checkout(conn)
    other = make_engine(f"sqlite:///{tmp_path / 'other.db'}")
    try:
        with held.begin(other) as conn:
            assert checkout(conn) is not first
            assert conn.engine is other
    finally:
        other.dispose()

    idle = HeldConnection(idle_s=0.0)
    with idle.begin(engine) as conn:
        before = checkout(conn)
    with idle.begin(engine) as conn:
        assert checkout(conn) is not before


def test_writers_on_several_threads_take_turns(engine):
    held = HeldConnection()
    inside, overlaps = [0], []

    def write(n: int) -> None:
        for _ in range(20):
            with held.begin(engine) as conn:
                inside[0] += 1
                overlaps.append(inside[0])
                conn.execute(text("INSERT INTO t VALUES (:n)"), {"n": n})
                inside[0] -= 1

    threads = [threading.Thread(target=write, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert max(overlaps) == 1
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM t")).scalar() == 80
