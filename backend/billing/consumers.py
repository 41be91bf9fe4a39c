"""The `billing` consumer: meters every execution from `execution.events` (metering.py).

Runs only with LINKFLOW_BILLING_BACKEND=stripe: `linkflow up` starts it in-process, scaled out it is
`linkflow consume --service billing`.
"""

from __future__ import annotations

import asyncio

from backend.billing.metering import meter_event
from backend.billing.plans import enabled
from backend.events.bus import Event
from backend.events.consumers import Consumer


async def handle(event: Event) -> None:
    await asyncio.to_thread(meter_event, event.payload)


async def handle_batch(events: list[Event]) -> dict[int, Exception]:
    """A batch in one hop to a thread; each event is still metered in its own transaction (idempotent)."""
    await asyncio.to_thread(_meter_all, [event.payload for event in events])
    return {}


def _meter_all(payloads: list[dict]) -> None:
    for payload in payloads:
        meter_event(payload)


CONSUMER = Consumer("billing", ("execution.events",), handle, handle_batch)


def billing_consumers() -> tuple[Consumer, ...]:
    """The billing consumer while billing is on; none with the free backend (nothing to meter)."""
    return (CONSUMER,) if enabled() else ()
