"""Engine and session factory. One engine per process, chosen by settings."""

from __future__ import annotations

import functools
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

from backend.db import models as _all_tables  # noqa: F401 - every FK target must be mapped
from backend.settings import get_settings


def make_engine(url: str, echo: bool = False, pool_size: int = 10) -> Engine:
    if url.startswith("sqlite"):
        return _sqlite_engine(url, echo)
    return create_engine(url, echo=echo, pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True)


def _sqlite_engine(url: str, echo: bool) -> Engine:
    path = url.split("///", 1)[-1]
    if path and path != ":memory:":
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, echo=echo, connect_args={"check_same_thread": False, "timeout": 30})

    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_conn, _record) -> None:
        cur = dbapi_conn.cursor()
        # WAL lets readers run beside the one writer; NORMAL sync is durable across app crashes.
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.close()

    return engine


@functools.cache
def get_engine() -> Engine:
    settings = get_settings()
    return make_engine(settings.database_url, settings.database.echo, settings.database.pool_size)


_SQLITE_WRITER = threading.Lock()
_writer: tuple[Engine, Connection] | None = None  # the hot path's one SQLite connection, used under the lock


@contextmanager
def write_transaction() -> Iterator[Connection]:
    """A short write transaction on a bare connection, for the per-execution hot paths.

    SQLite has one writer at a time, and a connection that finds the database locked sleeps in
    millisecond steps before it retries. Writers of this process therefore take turns through a
    lock instead, which keeps worker threads from sleeping (and thrashing the GIL) on each other,
    and they share one connection: its page cache stays valid from one write to the next, where
    each pooled connection would find the database changed by the others and read it again.
    """
    global _writer
    engine = get_engine()
    if engine.dialect.name != "sqlite":
        with engine.begin() as conn:
            yield conn
        return
    with _SQLITE_WRITER:
        if _writer is None or _writer[0] is not engine:
            _writer = (engine, engine.connect())
        conn = _writer[1]
        try:
            with conn.begin():
                yield conn
        except BaseException:
            # Rolled back; start from a fresh connection in case this one is broken.
            _writer = None
            conn.close()
            raise


@functools.cache
def _session_factory() -> sessionmaker[Session]:
    return sessionmaker(get_engine(), expire_on_commit=False)


@contextmanager
def session_scope() -> Iterator[Session]:
    """A unit of work: commits on success, rolls back on any error."""
    session = _session_factory()()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()
