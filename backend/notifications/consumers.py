"""The `notifications` consumer: failed executions tell their workflow's creator (in-app, and by mail)."""

from __future__ import annotations

import asyncio

from backend.events.bus import Event
from backend.events.consumers import Consumer
from backend.notifications.failures import KIND, handle_failure_event


async def handle(event: Event) -> None:
    if event.payload.get("type") == KIND:  # queued, succeeded, ...: nothing to tell anyone
        await asyncio.to_thread(handle_failure_event, event.payload)


CONSUMER = Consumer("notifications", ("execution.events",), handle)
