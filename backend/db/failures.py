"""Telling a database that is unreachable from one that refused what it was given.

The first is transient: the work is tried again later (by the next worker, through the
reaper). The second fails the same way every time, so the caller must record a failure
instead of leaving the work to be retried forever.
"""

from __future__ import annotations

from sqlalchemy.exc import DBAPIError, DisconnectionError, InterfaceError, OperationalError, StatementError
from sqlalchemy.exc import TimeoutError as PoolTimeout

_UNAVAILABLE = (OperationalError, InterfaceError, DisconnectionError, PoolTimeout, OSError)


def unavailable(exc: BaseException) -> bool:
    """True if ``exc`` says the database (or the disk beside it) could not be reached or used now.

    OperationalError covers lost connections, a server shutting down, SQLite's "database is
    locked" and a full disk; OSError a file of offloaded data that could not be written.
    """
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return True
    return isinstance(exc, _UNAVAILABLE)


def refusal(exc: BaseException) -> str:
    """Why the database refused a value, in its own words but without driver class paths."""
    reason = exc.orig if isinstance(exc, StatementError) and exc.orig is not None else exc
    text = " ".join(str(reason).split())
    return f"{type(reason).__name__}: {text}" if text else type(reason).__name__
