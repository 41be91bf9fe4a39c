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


async def handle_batch(events: list[Event]) -> dict[int, Exception]:
    """The failures of a batch, in order, in one hop to a thread (most execution events are not failures)."""
    failures = [event.payload for event in events if event.payload.get("type") == KIND]
    if failures:
        await asyncio.to_thread(_handle_failures, failures)
    return {}


def _handle_failures(payloads: list[dict]) -> None:
    for payload in payloads:
        handle_failure_event(payload)  # idempotent: a batch retried after a failure tells nobody twice


CONSUMER = Consumer("notifications", ("execution.events",), handle, handle_batch)
RULES = Consumer("notification-rules", ("execution.events",), evaluator.handle, evaluator.handle_batch,
                 part_of="notifications")
DELIVERY = Consumer("notification-delivery", ("notification.events",), delivery.handle, part_of="notifications")
