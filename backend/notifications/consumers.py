"""The notifications service's consumers.

- `notifications`: failed executions tell their workflow's creator (in-app, and by mail).
- `notification-rules`: the team's notification rules turn execution.events into notification.requested.
- `notification-delivery`: notification.requested events are sent on their channel.

The last two are part of the first: `linkflow consume --service notifications` runs all three groups.
"""

from __future__ import annotations

import asyncio

from backend.events.bus import Event
from backend.events.consumers import Consumer
from backend.notifications import delivery, evaluator
from backend.notifications.failures import KIND, handle_failure_event


async def handle(event: Event) -> None:
    if event.payload.get("type") == KIND:  # queued, succeeded, ...: nothing to tell anyone
        await asyncio.to_thread(handle_failure_event, event.payload)


CONSUMER = Consumer("notifications", ("execution.events",), handle)
RULES = Consumer("notification-rules", ("execution.events",), evaluator.handle, evaluator.handle_batch,
                 part_of="notifications")
DELIVERY = Consumer("notification-delivery", ("notification.events",), delivery.handle, part_of="notifications")
