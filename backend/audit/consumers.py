"""The `audit` consumer: one audit_log row per `audit.log` event, however often it arrives."""

from __future__ import annotations

import asyncio

from backend.audit.service import record_event
from backend.db.session import session_scope
from backend.events.bus import Event
from backend.events.consumers import Consumer


def _record(payload: dict) -> None:
    with session_scope() as session:
        record_event(session, payload)


async def handle(event: Event) -> None:
    await asyncio.to_thread(_record, event.payload)


CONSUMER = Consumer("audit", ("audit.log",), handle)
