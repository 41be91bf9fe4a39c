"""Each long-running process says it is alive: its worker_heartbeats row, refreshed every ~10 s,
deleted on a clean stop. Every beat loop also prunes rows silent for a day now and then."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import threading
from collections.abc import Callable
from importlib.metadata import PackageNotFoundError, version

from backend.db.base import utcnow
from backend.db.session import session_scope
from backend.executions import heartbeats

log = logging.getLogger("linkflow.heartbeat")
PRUNE_EVERY = 30  # beats, ~5 minutes


class Counter:
    """Executions this process finished (whatever their outcome); read by its heartbeat."""

    def __init__(self) -> None:
        self._lock, self._value = threading.Lock(), 0

    def add(self) -> None:
        with self._lock:
            self._value += 1

    @property
    def value(self) -> int:
        return self._value


processed = Counter()


@functools.cache
def linkflow_version() -> str:
    try:
        return version("linkflow")
    except PackageNotFoundError:
        return "unknown"


async def heartbeat_loop(stop: asyncio.Event, role: str, details: Callable[[], dict],
                         interval_s: float = heartbeats.INTERVAL_S) -> None:
    """Beat until `stop` is set, then remove the row. A failed beat is logged; the next one retries."""
    heartbeat_id, started_at, count = heartbeats.process_id(role), utcnow(), 0
    try:
        while not stop.is_set():
            try:
                # details() may wait (the code sandbox's status can be an HTTP call): off the event loop
                await asyncio.to_thread(lambda prune=count % PRUNE_EVERY == 0: _beat(
                    heartbeat_id, role, started_at, {**details(), "version": linkflow_version()}, prune))
            except Exception:  # the database is away for a moment: keep beating
                log.exception("heartbeat failed", extra={"heartbeat_id": heartbeat_id})
            count += 1
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), interval_s)
    finally:
        try:
            await asyncio.to_thread(_remove, heartbeat_id)
        except Exception:  # pruned after a day anyway
            log.exception("could not remove the heartbeat row", extra={"heartbeat_id": heartbeat_id})


def _beat(heartbeat_id: str, role: str, started_at, details: dict, prune: bool) -> None:
    with session_scope() as session:
        heartbeats.beat(session, heartbeat_id, role=role, details=details, started_at=started_at)
        if prune:
            heartbeats.prune(session)


def _remove(heartbeat_id: str) -> None:
    with session_scope() as session:
        heartbeats.remove(session, heartbeat_id)


def worker_details(threads: int, queue_backend: str, **extra) -> Callable[[], dict]:
    """What a process running execution threads reports: its queues, threads and processed count.
    An ``extra`` value that is callable is called at each beat (e.g. the code sandbox's status)."""
    from backend.admin.queues import EXECUTION_QUEUES

    def details() -> dict:
        return {"queues": list(EXECUTION_QUEUES), "threads": threads, "queue_backend": queue_backend,
                "processed": processed.value, **{k: v() if callable(v) else v for k, v in extra.items()}}

    return details
