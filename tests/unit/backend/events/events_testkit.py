"""Helpers the event tests import by name (a module of its own: `from conftest import ...` finds whichever
conftest.py was imported first when several test folders run in one pytest call)."""

from __future__ import annotations

from backend.db.session import session_scope
from backend.events.outbox import emit


def emit_committed(topic: str, key: str, payload: dict) -> None:
    """Emit one outbox row and commit it."""
    with session_scope() as session:
        emit(session, topic, key, payload)
