"""`linkflow scheduler`: fire due schedules while this process is the leader, until SIGTERM; and run the
listener triggers (Redis Trigger, Kafka Trigger) of active workflows while it holds the listener lock
(backend/listeners/runner.py: a lock of its own, so schedules and listeners may lead on different replicas).

Every replica runs the same loop; only the one holding the leader lock fires
(backend/schedules/leader.py). The others try to take the lock once a second, so when the
leader dies another one takes over within about a second and fires what was missed.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import signal

from backend import logging as lf_logging
from backend.db.base import utcnow
from backend.db.session import session_scope
from backend.schedules.firing import fire_due, next_due_at
from backend.schedules.leader import Leadership, make_leader
from backend.settings import get_settings

log = logging.getLogger("linkflow.scheduler")
MAX_SLEEP_S = 1.0
MIN_SLEEP_S = 0.01


def main(args: argparse.Namespace | None = None) -> int:
    settings = get_settings()
    lf_logging.configure(settings.log_level, settings.log_format)
    log.info("scheduler started", extra={"pid": os.getpid()})
    asyncio.run(_until_signalled())
    log.info("scheduler stopped", extra={"pid": os.getpid()})
    return 0


async def _until_signalled() -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    from backend.listeners.runner import listener_loop
    from executors.heartbeat import heartbeat_loop

    beat = asyncio.create_task(heartbeat_loop(stop, "scheduler", dict))
    listeners = asyncio.create_task(listener_loop(stop))
    await scheduler_loop(stop)
    await listeners
    await beat


async def scheduler_loop(stop: asyncio.Event, leader: Leadership | None = None) -> None:
    """Fire due schedules while leader; sleep until the next due time, at most a second."""
    leader = leader or make_leader(get_settings())
    leading = False
    try:
        while not stop.is_set():
            delay = MAX_SLEEP_S
            try:
                now_leading = await asyncio.to_thread(leader.is_leader)
                if now_leading != leading:
                    log.info("scheduler is now the leader" if now_leading else "scheduler lost the leadership",
                             extra={"pid": os.getpid()})
                    leading = now_leading
                if leading:
                    delay = await asyncio.to_thread(tick)
            except Exception:  # keep the loop alive; the next tick retries
                log.exception("scheduler tick failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), delay)
    finally:
        await asyncio.to_thread(leader.release)


def tick() -> float:
    """Fire what is due now; the seconds to sleep before the next tick."""
    with session_scope() as session:
        fired = fire_due(session, utcnow())
        upcoming = next_due_at(session)
    if fired:
        log.debug("schedules fired", extra={"executions": len(fired)})
    if upcoming is None:
        return MAX_SLEEP_S
    return min(MAX_SLEEP_S, max(MIN_SLEEP_S, (upcoming - utcnow()).total_seconds()))
