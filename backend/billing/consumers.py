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


CONSUMER = Consumer("billing", ("execution.events",), handle)


def billing_consumers() -> tuple[Consumer, ...]:
    """The billing consumer while billing is on; none with the free backend (nothing to meter)."""
    return (CONSUMER,) if enabled() else ()
