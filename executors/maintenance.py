"""Periodic duties: re-queue executions whose lease expired or whose wait is over; apply retention."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from datetime import timedelta

# Imported here, at startup, not inside the loop: the loop starts while the worker threads import
# the engine, and two threads importing the same circular package at once can see it half-made.
from backend.billing import duties as billing_duties
from backend.executions.reaper import BATCH, due_executions, upcoming_waits
from backend.executions.retention import prune
from backend.executions.timers import schedule_wake_up
from backend.notifications import retention as notification_retention
from backend.settings import get_settings
from backend.storage.service import sweep_orphans

log = logging.getLogger("linkflow.maintenance")
INTERVAL_S = 2.0
LOOK_AHEAD = timedelta(seconds=3 * INTERVAL_S)  # waits due before the tick after next get a wake-up now
PRUNE_EVERY_S = 600.0  # retention (old executions, published outbox events): first a minute after start
SWEEP_EVERY_S = 6 * 3600.0  # orphaned objects in storage (it lists the bucket): first ten minutes after start


async def maintenance_loop(stop: asyncio.Event, enqueue: Callable[[str], None], *,
                           resend_queued_at_start: bool) -> None:
    # An in-memory queue forgot everything on restart: re-send every queued execution once.
    first = resend_queued_at_start
    loop = asyncio.get_running_loop()
    next_prune, next_sweep = loop.time() + 60.0, loop.time() + 600.0
    while not stop.is_set():
        if loop.time() >= next_sweep:
            next_sweep = loop.time() + SWEEP_EVERY_S
            await _sweep()
        if loop.time() >= next_prune:
            next_prune = loop.time() + PRUNE_EVERY_S
            try:
                await asyncio.to_thread(prune)
                await asyncio.to_thread(notification_retention.prune)
            except Exception:
                log.exception("retention pruning failed; retried at the next round")
        await billing_duties.tick()  # overage to Stripe, unpaid teams to Free, per-plan history
        try:
            due = await asyncio.to_thread(due_executions, first)
            for execution_id in due:
                enqueue(execution_id)
            more = len(due) == BATCH  # a backlog (after a restart): the next batch without a pause
            first = first and more
            for execution_id, resume_at in await asyncio.to_thread(upcoming_waits, LOOK_AHEAD):
                schedule_wake_up(execution_id, resume_at)
        except Exception:  # keep the loop alive; the next tick retries
            log.exception("maintenance tick failed")
            more = False
        if more:
            continue
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), INTERVAL_S)


async def _sweep() -> None:
    if not get_settings().storage.orphan_sweep:
        return
    try:
        await asyncio.to_thread(sweep_orphans)
    except Exception:
        log.exception("storage orphan sweep failed; retried at the next round")
