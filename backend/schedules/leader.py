"""Which scheduler process fires schedules: exactly one leader at a time.

PostgreSQL: the leader holds a session-level advisory lock on a connection of its own.
The server releases the lock when that session ends, so a leader that dies (or loses its
connection) hands over by itself: another replica's next ``is_leader()`` takes the lock.
The leader checks every tick that its session still holds the lock.

SQLite (embedded mode): one process, always the leader.

Should two leaders ever overlap (a partition the old leader has not noticed yet), firing
still happens once per due time: see ``backend/schedules/firing.py``.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
from typing import Protocol

from sqlalchemy import Connection, create_engine, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.pool import NullPool

from backend.settings import Settings

log = logging.getLogger("linkflow.schedules")

LOCK_KEY = 0x4C46_5343_4845_4431  # "LFSCHED1": the advisory lock of the scheduler leader


class Leadership(Protocol):
    def is_leader(self) -> bool:
        """Take the leadership if it is free; True while this process holds it."""

    def release(self) -> None: ...


class InProcessLeader:
    """Embedded mode: the only scheduler there is."""

    def is_leader(self) -> bool:
        return True

    def release(self) -> None:
        pass


class PostgresLeader:
    def __init__(self, url: str, key: int = LOCK_KEY, name: str | None = None) -> None:
        self.key = key
        self.name = name or f"linkflow-scheduler:{os.getpid()}@{socket.gethostname()}"[:63]
        self._engine = create_engine(url, poolclass=NullPool, isolation_level="AUTOCOMMIT", connect_args={
            "application_name": self.name, "connect_timeout": 5,
            # A dead network must end the session (and free the lock) within seconds, on both sides.
            "keepalives": 1, "keepalives_idle": 5, "keepalives_interval": 2, "keepalives_count": 3,
            "options": "-c statement_timeout=5000"})
        self._conn: Connection | None = None
        self._holding = False

    def is_leader(self) -> bool:
        try:
            conn = self._connection()
            if self._holding:
                self._holding = bool(conn.scalar(text(
                    "SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND granted"
                    " AND pid = pg_backend_pid() AND classid = :high AND objid = :low AND objsubid = 1)"),
                    {"high": (self.key >> 32) & 0xFFFFFFFF, "low": self.key & 0xFFFFFFFF}))
            else:
                self._holding = bool(conn.scalar(text("SELECT pg_try_advisory_lock(:key)"), {"key": self.key}))
        except DBAPIError as exc:
            log.warning("scheduler lock connection failed: %s", exc.orig or exc, extra={"lock": self.name})
            self._drop_connection()
        return self._holding

    def release(self) -> None:
        if self._conn is not None and self._holding:
            with contextlib.suppress(DBAPIError):  # the session is gone, and with it the lock
                self._conn.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": self.key})
        self._drop_connection()
        self._engine.dispose()

    def _connection(self) -> Connection:
        if self._conn is None:
            self._conn = self._engine.connect()
        return self._conn

    def _drop_connection(self) -> None:
        self._holding = False
        if self._conn is not None:
            try:
                self._conn.invalidate()
                self._conn.close()
            except Exception:  # noqa: BLE001 - already broken; dropping it is all we want
                log.debug("closing the scheduler lock connection failed", exc_info=True)
            self._conn = None


def make_leader(settings: Settings) -> Leadership:
    if settings.database_url.startswith("postgresql"):
        return PostgresLeader(settings.database_url)
    return InProcessLeader()
