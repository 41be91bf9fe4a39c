"""Engine and session factory. One engine per process, chosen by settings."""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import functools
import json
import select
import sqlite3
import threading
import time
import weakref
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.exc import DBAPIError, DisconnectionError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from backend.db import models as _all_tables  # noqa: F401 - every FK target must be mapped
from backend.settings import get_settings


def _json_text(value: object) -> str:
    """JSON columns are written strictly: NaN and Infinity raise here on every database (PostgreSQL's
    JSONB would refuse them anyway; SQLite would store text no JSON parser but Python's reads)."""
    return _strict(value)


_strict = json.JSONEncoder(allow_nan=False).encode  # built once (json.dumps builds one per call with options)


def make_engine(url: str, echo: bool = False, pool_size: int = 10) -> Engine:
    if url.startswith("sqlite"):
        return _sqlite_engine(url, echo)
    engine = create_engine(url, echo=echo, pool_size=pool_size, max_overflow=pool_size, json_serializer=_json_text)
    _check_on_checkout(engine)
    return engine


IDLE_PING_S = 30.0


def _check_on_checkout(engine: Engine) -> None:
    """Hand out no connection the server has closed, without a round trip for every checkout.

    ``pool_pre_ping`` sent a ``SELECT 1`` each time a connection left the pool: one round trip
    more for every transaction, and a worker runs five of them per execution (claim, one per
    step, the outcome), blocking its event loop for each. A connection the server closed
    (restart, ``pg_terminate_backend``, idle timeout) has something to read on its socket, the
    end of the stream or the server's last message; one in good order has nothing. So the
    ping is sent only when there is something to read, or when the connection sat in the pool
    for ``IDLE_PING_S`` (a peer gone without a word leaves nothing to read). A ping that fails
    makes the pool drop the connection and take another, as pre-ping did.
    """

    @event.listens_for(engine, "checkin")
    def _idle_from(_dbapi_connection, record) -> None:
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _alive(dbapi_connection, record, _proxy) -> None:
        idle_since = record.info.pop("idle_since", None)
        if idle_since is None:
            return  # connected just now
        if time.monotonic() - idle_since < IDLE_PING_S and not _has_input(dbapi_connection):
            return
        try:
            engine.dialect.do_ping(dbapi_connection)
        except Exception as exc:
            raise DisconnectionError(f"connection closed by the server: {exc}") from exc


def _has_input(dbapi_connection) -> bool:
    try:
        descriptor = dbapi_connection.fileno()
    except Exception:  # closed on our side
        return True
    poller = select.poll()
    poller.register(descriptor, select.POLLIN | select.POLLPRI)
    return bool(poller.poll(0))


def _sqlite_engine(url: str, echo: bool) -> Engine:
    path = url.split("///", 1)[-1]
    if path and path != ":memory:":
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    # Enough connections that a loop never waits for one (it would stand still): every thread that may hold one
    # (AnyIO's 40 for sync endpoints, the workers, the default executor) and the loops. They open on first use.
    in_memory = "///" not in url or path in ("", ":memory:") or "mode=memory" in path  # SingletonThreadPool
    engine = create_engine(url, echo=echo, connect_args={"check_same_thread": False, "timeout": LOCK_WAIT_S},
                           json_serializer=_json_text,
                           **({} if in_memory else {"pool_size": 10, "max_overflow": SQLITE_MAX_OVERFLOW}))

    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_conn, _record) -> None:
        _set_pragmas(dbapi_conn, LOCK_WAIT_MS, checkpointer)

    @event.listens_for(engine, "begin")
    def _lock_wait(conn: Connection) -> None:
        """How long this transaction's writes wait inside SQLite for the write lock (`not_waiting_for_the_lock`)."""
        wait_ms = _lock_wait_ms.get()
        info = conn.connection.info  # the DBAPI connection's, kept across checkouts
        if info.get("busy_timeout_ms", LOCK_WAIT_MS) != wait_ms:
            conn.connection.dbapi_connection.execute(f"PRAGMA busy_timeout={wait_ms}")
            info["busy_timeout_ms"] = wait_ms

    checkpointer = not in_memory
    if checkpointer:
        _start_checkpointer(engine, path)
        _driver_files[engine] = _DriverFile(path)
        event.listen(engine, "engine_disposed", lambda disposed: _driver_files[disposed].close_all())
    return engine


def _set_pragmas(conn: sqlite3.Connection, busy_timeout_ms: int, checkpointer: bool) -> None:
    """What every connection to a SQLite file of LinkFlow's runs with (the engine's, and `driver_transaction`'s)."""
    cur = conn.cursor()
    # WAL lets readers run beside the one writer; NORMAL sync is durable across app crashes.
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute(f"PRAGMA busy_timeout={busy_timeout_ms:d}")
    if checkpointer:
        # The background checkpointer (`_start_checkpointer`) does the regular work; this is only the backstop.
        cur.execute(f"PRAGMA wal_autocheckpoint={BACKSTOP_PAGES}")
    cur.close()


SQLITE_MAX_OVERFLOW = 70
LOCK_WAIT_S = 30  # how long a write waits for SQLite's write lock, held by another connection, before it fails
LOCK_WAIT_MS = LOCK_WAIT_S * 1000
_lock_wait_ms: contextvars.ContextVar[int] = contextvars.ContextVar("linkflow_sqlite_lock_wait_ms",
                                                                    default=LOCK_WAIT_MS)
T = TypeVar("T")


@contextmanager
def not_waiting_for_the_lock() -> Iterator[None]:
    """On SQLite, the transactions begun inside fail at once ("database is locked") while another connection
    holds the write lock, instead of waiting for it inside SQLite. For the writes an event loop makes: a loop
    that waits inside SQLite stands still, and the connection holding the lock may be waiting for that very loop
    (a sync endpoint's transaction is committed by FastAPI's dependency exit, which the loop schedules onto a
    thread once the endpoint has returned): nothing then moved for `LOCK_WAIT_S`. The loop waits for the lock by
    trying again later (`write_on_loop`, backend/db/group_commit.py), turning meanwhile."""
    token = _lock_wait_ms.set(0)
    try:
        yield
    finally:
        _lock_wait_ms.reset(token)


def lock_busy(exc: BaseException) -> bool:
    """Whether a write failed only because another connection held SQLite's write lock: try it again later."""
    orig = exc.orig if isinstance(exc, OperationalError) else exc
    return isinstance(orig, sqlite3.OperationalError) and str(orig).startswith("database is locked")


class LockWait:
    """The pauses of a loop waiting for SQLite's write lock: short at first, then up to `MAX_PAUSE_S`. Once it has
    waited `LOCK_WAIT_S` in all, as long as SQLite itself would, the write fails with SQLite's error."""

    FIRST_PAUSE_S = 0.001
    MAX_PAUSE_S = 0.02
    __slots__ = ("_next", "_since")

    def __init__(self) -> None:
        self.reset()

    def expired(self) -> bool:
        return self._since is not None and time.monotonic() - self._since >= LOCK_WAIT_S

    def pause(self) -> float:
        """The write found the lock held: how long to pause before the next try."""
        if self._since is None:
            self._since = time.monotonic()
        pause, self._next = self._next, min(self._next * 2, self.MAX_PAUSE_S)
        return pause

    def reset(self) -> None:
        self._since: float | None = None
        self._next = self.FIRST_PAUSE_S


async def write_on_loop(write: Callable[[], T], undo: Callable[[], object] | None = None) -> T:
    """`write()` (a whole transaction) on the running loop, on SQLite without waiting inside it for the write lock:
    while another connection holds it, the loop pauses and tries again (`not_waiting_for_the_lock`). `undo` rolls
    back what a failed try left open (a session `write` did not make itself)."""
    wait = LockWait()
    while True:
        try:
            with not_waiting_for_the_lock():
                return write()
        except OperationalError as exc:
            if not lock_busy(exc):
                raise
            if undo is not None:
                undo()
            if wait.expired():
                raise
        await asyncio.sleep(wait.pause())


BACKSTOP_PAGES = 20_000  # ~80 MB of WAL before a committing connection checkpoints by itself
CHECKPOINT_EVERY_S = 1.0


def _start_checkpointer(engine: Engine, path: str) -> None:
    """Checkpoint the WAL from a daemon thread, off the request path.

    SQLite's default makes the commit that takes the WAL past 1,000 pages copy them into the
    database file (with an fsync) before it returns: a request or a step that pays for everyone's
    writes. A PASSIVE checkpoint never blocks writers or readers, and runs in C without the GIL.
    The thread ends when the engine is disposed or garbage-collected.
    """
    ref, stop = weakref.ref(engine), threading.Event()
    event.listen(engine, "engine_disposed", lambda _engine: stop.set())

    def run() -> None:
        conn = sqlite3.connect(path, timeout=1, check_same_thread=False)
        try:
            while not stop.wait(CHECKPOINT_EVERY_S) and ref() is not None:
                with contextlib.suppress(sqlite3.Error):
                    conn.execute("PRAGMA wal_checkpoint(PASSIVE)")
        finally:
            conn.close()

    threading.Thread(target=run, name=f"linkflow-sqlite-checkpoint:{path}", daemon=True).start()


def get_engine() -> Engine:
    """The process's engine for the database the settings name now.

    Engines are kept per URL and options, not once per process: code that read the settings before they
    changed (a thread that was mid-call when a test or a CLI command pointed the process at another
    database) can then only make an engine for the URL it read, never hand that engine to callers that
    read the new settings.
    """
    settings = get_settings()
    key = (settings.database_url, settings.database.echo, settings.database.pool_size)
    engine = _engines.get(key)
    if engine is None:
        with _engines_lock:
            engine = _engines.get(key)
            if engine is None:
                engine = _engines[key] = make_engine(*key)
    return engine


def in_process_database() -> bool:
    """Whether the database is an in-process SQLite (`linkflow up`), whose statements take microseconds: there the
    event pipeline does its database work on the request loop, in slices (backend/foreground.py); on PostgreSQL
    on threads (network round trips)."""
    return get_engine().dialect.name == "sqlite"


_engines: dict[tuple[str, bool, int], Engine] = {}
_engines_lock = threading.Lock()


def dispose_engines() -> None:
    """Close every engine this process made and forget them (the next ``get_engine`` makes a new one)."""
    with _engines_lock:
        engines = list(_engines.values())
        _engines.clear()
    for engine in engines:
        engine.dispose()


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


class _DriverFile:
    """The SQLite file of an engine, and the driver connections `driver_transaction` opened to it (one per thread)."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.generation = 0  # moves on when the engine is disposed: every thread opens a new connection then
        self._open: list[tuple[weakref.ref[threading.Thread], sqlite3.Connection]] = []  # and the thread using it
        self._lock = threading.Lock()

    def connect(self) -> sqlite3.Connection:
        """A new connection for the calling thread; those of threads that have ended are closed."""
        conn = sqlite3.connect(self.path, timeout=0, isolation_level=None, check_same_thread=False)
        _set_pragmas(conn, 0, checkpointer=True)  # a file engine's: it has the checkpointer (`_sqlite_engine`)
        with self._lock:
            ended = [(thread, old) for thread, old in self._open if not _alive(thread)]
            self._open = [entry for entry in self._open if _alive(entry[0])]
            self._open.append((weakref.ref(threading.current_thread()), conn))
        _close(old for _, old in ended)
        return conn

    def open_connections(self) -> list[sqlite3.Connection]:
        with self._lock:
            return [conn for _, conn in self._open]

    def close_all(self) -> None:
        with self._lock:
            self.generation += 1
            entries, self._open = self._open, []
        _close(conn for _, conn in entries)


def _alive(thread: weakref.ref[threading.Thread]) -> bool:
    found = thread()
    return found is not None and found.is_alive()


def _close(conns: Iterable[sqlite3.Connection]) -> None:
    for conn in conns:
        with contextlib.suppress(sqlite3.Error):
            conn.close()


_driver_files: weakref.WeakKeyDictionary[Engine, _DriverFile] = weakref.WeakKeyDictionary()
_thread_drivers = threading.local()  # .by_file: {_DriverFile: _Driver} of this thread


def driver_connection(engine: Engine) -> sqlite3.Connection | None:
    """This thread's own `sqlite3` connection to the engine's SQLite file (autocommit: each statement outside
    `driver_transaction` is its own transaction), or None when the engine is not a SQLite file. For a loop's reads
    of rows it then writes (the outbox relay): the same connection's page cache, no SQLAlchemy on the way."""
    file = _driver_files.get(engine)
    if file is None:
        return None
    return _driver(file).conn


class _Driver:
    """A thread's connection to one file, the engine generation it was opened in, and its busy_timeout now."""

    __slots__ = ("busy_ms", "conn", "generation")

    def __init__(self, conn: sqlite3.Connection, generation: int) -> None:
        self.conn, self.generation, self.busy_ms = conn, generation, 0


def _driver(file: _DriverFile) -> _Driver:
    by_file = getattr(_thread_drivers, "by_file", None)
    if by_file is None:
        by_file = _thread_drivers.by_file = weakref.WeakKeyDictionary()
    driver = by_file.get(file)
    if driver is None or driver.generation != file.generation:
        generation = file.generation
        driver = by_file[file] = _Driver(file.connect(), generation)
    return driver


@contextmanager
def driver_transaction(engine: Engine) -> Iterator[sqlite3.Connection | None]:
    """A write transaction straight on the driver: this thread's own `sqlite3` connection to the engine's SQLite
    file, in BEGIN IMMEDIATE ... COMMIT; None (and no transaction) when the engine is not a SQLite file.

    For a loop's hot writes whose values are already as the driver binds them (backend/db/fast_insert.py): a
    transaction through SQLAlchemy's Connection (pool checkout, events, an execution context per statement,
    checkin) cost ~130 µs of CPU more than the same three inserts on the driver (~40 µs), and a webhook run
    saved one at a time pays that once per request (bench/README.md). Inside `not_waiting_for_the_lock` (the loop's
    writes) it does not wait inside SQLite for the write lock: BEGIN IMMEDIATE fails at once with "database is
    locked" (`lock_busy`) before anything is written, and the caller tries again later (`write_on_loop`,
    backend/db/group_commit.py); elsewhere (a thread) it waits up to `LOCK_WAIT_S`, as the engine's connections do.
    Any error rolls the transaction back; the driver's errors are raised as SQLAlchemy's (`IntegrityError`...)."""
    file = _driver_files.get(engine)
    if file is None:
        yield None
        return
    try:
        driver = _driver(file)
        conn = driver.conn
        wait_ms = _lock_wait_ms.get()
        if driver.busy_ms != wait_ms:
            conn.execute(f"PRAGMA busy_timeout={wait_ms:d}")
            driver.busy_ms = wait_ms
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.rollback()
            raise
    except sqlite3.Error as exc:  # as SQLAlchemy raises it (IntegrityError, OperationalError...), `.orig` the driver's
        raise DBAPIError.instance(None, None, exc, sqlite3.Error) from exc


def _session_factory() -> sessionmaker[Session]:
    return _factory(get_engine())


@functools.cache
def _factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


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
