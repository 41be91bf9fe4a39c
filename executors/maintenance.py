"""Periodic duties: re-queue executions whose lease expired or whose wait is over."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

log = logging.getLogger("linkflow.maintenance")
INTERVAL_S = 2.0


async def maintenance_loop(stop: asyncio.Event, enqueue: Callable[[str], None], *,
                           resend_queued_at_start: bool) -> None:
    from backend.executions.reaper import due_executions

    # An in-memory queue forgot everything on restart: re-send every queued execution once.
    first = resend_queued_at_start
    while not stop.is_set():
        try:
            for execution_id in await asyncio.to_thread(due_executions, first):
                enqueue(execution_id)
            first = False
        except Exception:  # keep the loop alive; the next tick retries
            log.exception("maintenance tick failed")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), INTERVAL_S)
