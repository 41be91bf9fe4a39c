"""The request's unit of work as a FastAPI dependency: `session: Session = Depends(db_session)`.

The transaction commits after the endpoint returns but BEFORE the response is sent, so a
client never sees a success whose commit later failed, and a failed commit still becomes
an HTTP error. (A plain generator dependency would run its exit code after the response
is sent; `_unit_of_work` is pinned to FastAPI's "function" scope to avoid that, and
`db_session` is a plain function so every `Depends(db_session)` in one request, however
it is spelled, shares the one session.)
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from backend.db.session import _session_factory
from backend.errors import Conflict


def _unit_of_work() -> Iterator[Session]:
    session = _session_factory()()
    try:
        yield session
        session.commit()
    except IntegrityError as exc:
        session.rollback()
        # Endpoints map the conflicts they expect with a precise message; this is the safety net.
        raise Conflict("the change conflicts with data that already exists; reload and try again") from exc
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def db_session(session: Annotated[Session, Depends(_unit_of_work, scope="function")]) -> Session:
    """The request's Session (commit on success, rollback on error)."""
    return session


DbSession = Annotated[Session, Depends(db_session)]
