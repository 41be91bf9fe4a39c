"""The `analytics` consumer: usage facts from analytics.events into the Insights rollups, once per event."""

from __future__ import annotations

import asyncio

from backend.analytics.service import record_usage
from backend.db.session import session_scope
from backend.events import schemas
from backend.events.bus import Event
from backend.events.consumers import Consumer
from backend.events.schemas.other import ExecutionUsage


def _count(event: Event) -> None:
    fact = schemas.validate(event.topic, event.key, event.payload)
    if isinstance(fact, ExecutionUsage):  # other analytics event types: not counted yet
        with session_scope() as session:
            record_usage(session, fact)


async def handle(event: Event) -> None:
    await asyncio.to_thread(_count, event)


CONSUMER = Consumer("analytics", ("analytics.events",), handle)
