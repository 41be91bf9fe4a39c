"""The request's unit of work as a FastAPI dependency: `session: Session = Depends(db_session)`.

The transaction commits after the endpoint returns but BEFORE the response is sent, so a
client never sees a success whose commit later failed, and a failed commit still becomes
an HTTP error. (A plain generator dependency would run its exit code after the response
is sent; `_unit_of_work` is pinned to FastAPI's "function" scope to avoid that, and
`db_session` is a plain function so every `Depends(db_session)` in one request, however
it is spelled, shares the one session.)

A sync endpoint's session commits on the endpoint's own thread, as it returns
(`CommittingRoute`, the route class of the API's routers): what FastAPI does next (the response model's check, the
dependency's exit) waits for another thread of AnyIO's pool of 40, and in a burst of writes on
SQLite every one of those can be a sync endpoint waiting inside SQLite for the write lock this
session holds. Nothing then moved for SQLite's 30 s, and every waiting request failed.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import inspect
from collections.abc import AsyncIterator, Callable
from typing import Annotated

from fastapi import Depends
from fastapi.concurrency import run_in_threadpool
from fastapi.routing import APIRoute
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from backend.db.session import _session_factory
from backend.errors import Conflict

_request_session: contextvars.ContextVar[Session | None] = contextvars.ContextVar("linkflow_request_session",
                                                                                default=None)


async def _unit_of_work() -> AsyncIterator[Session]:
    session = _session_factory()()
    token = _request_session.set(session)  # the endpoint's thread runs in a copy of this context
    try:
        yield session
        if _commits_at_once(session):  # an async endpoint's, or nothing left: a sync endpoint's thread committed
            _commit(session)
        else:
            await run_in_threadpool(_commit, session)
    except BaseException:
        session.rollback()
        raise
    finally:
        _request_session.reset(token)
        session.close()


def _commit(session: Session) -> None:
    try:
        session.commit()
    except IntegrityError as exc:
        session.rollback()
        # Endpoints map the conflicts they expect with a precise message; this is the safety net.
        raise Conflict("the change conflicts with data that already exists; reload and try again") from exc


def _commits_at_once(session: Session) -> bool:
    """Whether the commit waits for nothing, so it may run on the loop: on SQLite, a session that has written
    holds the write lock already, and one that has nothing to write has nothing to wait for. Elsewhere
    (PostgreSQL: a round trip) the commit runs on a thread."""
    if not session.in_transaction():
        return True
    if session.get_bind().dialect.name != "sqlite":
        return False
    wrote = session.connection().connection.dbapi_connection.in_transaction  # pysqlite begins before a write
    return wrote or not (session.new or session.dirty or session.deleted)


class CommittingRoute(APIRoute):
    """The route class of every router of the API (`APIRouter(route_class=CommittingRoute)`): a sync endpoint
    commits the request's session on its own thread as it returns (the module's doc says why)."""

    def __init__(self, path: str, endpoint: Callable, **kwargs) -> None:
        if not asyncio.iscoroutinefunction(endpoint) and not inspect.isgeneratorfunction(endpoint):
            endpoint = _committing(endpoint)
        super().__init__(path, endpoint, **kwargs)


def _committing(endpoint: Callable) -> Callable:
    @functools.wraps(endpoint)
    def committing(**arguments):
        result = endpoint(**arguments)
        session = _request_session.get()
        if session is not None and session.in_transaction():
            _commit(session)
        return result

    return committing


async def db_session(session: Annotated[Session, Depends(_unit_of_work, scope="function")]) -> Session:
    """The request's Session (commit on success, rollback on error)."""
    return session


DbSession = Annotated[Session, Depends(db_session)]
