"""Waits end on time: a heap of wake-ups, and one thread that hands each execution to the queue when due.

A run parked in a Wait node until a time is claimed by the first worker that gets its id once
that time has come (``service.claim``: waiting → running). Polling for due waits made them end
up to a maintenance interval late, and a backlog of them drain at the poll's pace. Instead the
process that parks a run schedules its wake-up at once, and every maintenance loop looks a
little ahead and schedules the waits due soon (so a wait parked by a process that died still
wakes on time). A wake-up is only a message: the claim decides, so one sent twice, or too
early, does nothing; a message that is lost leaves the row to the reaper's poll.
"""

from __future__ import annotations

import functools
import heapq
import logging
import threading
import time
from collections.abc import Callable
from datetime import datetime

from backend.db.base import utcnow

log = logging.getLogger("linkflow.executions")
HORIZON_S = 60.0  # waits further away are scheduled later, by the look-ahead of a maintenance loop
LATE_S = 0.002  # fire just after the time: a claim on a clock a hair behind would find it not due yet


class WakeUps:
    def __init__(self, send: Callable[[str], None]) -> None:
        self._send = send
        self._heap: list[tuple[float, str]] = []
        self._due: dict[str, float] = {}  # execution id -> when its wake-up fires (epoch seconds)
        self._changed = threading.Condition()
        self._thread: threading.Thread | None = None

    def schedule(self, execution_id: str, resume_at: datetime) -> None:
        """Send ``execution_id`` to the queue at ``resume_at`` (ignored if further than the horizon)."""
        when = resume_at.timestamp() + LATE_S
        if when - time.time() > HORIZON_S:
            return
        with self._changed:
            if self._due.get(execution_id) == when:
                return
            self._due[execution_id] = when
            heapq.heappush(self._heap, (when, execution_id))
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="linkflow-wake-ups", daemon=True)
                self._thread.start()
            self._changed.notify()

    def holds(self, execution_id: str) -> bool:
        with self._changed:
            return execution_id in self._due

    def drop(self, execution_id: str) -> bool:
        """Forget the wake-up of ``execution_id`` (cancelled while it waits); False if none was scheduled."""
        with self._changed:
            return self._due.pop(execution_id, None) is not None  # its heap entry is now stale

    def drop_all(self) -> int:
        """Forget every wake-up (the process stops, or a test ends); returns how many there were. A due wait
        whose wake-up is dropped is still found by the reaper's poll."""
        with self._changed:
            dropped = len(self._due)
            self._due.clear()
            self._heap.clear()
            return dropped

    def fire_now(self, execution_id: str) -> bool:
        """Send ``execution_id`` to the queue at once instead of at its time (resumed while it waits); False if
        this process had no wake-up for it."""
        with self._changed:
            if execution_id not in self._due:
                return False
            when = self._due[execution_id] = time.time()
            heapq.heappush(self._heap, (when, execution_id))
            self._changed.notify()
            return True

    def pending(self) -> int:
        with self._changed:
            return len(self._due)

    def _run(self) -> None:
        while True:
            for execution_id in self._next_due():
                try:
                    self._send(execution_id)
                except Exception:  # the reaper's poll finds it instead
                    log.exception("could not send a due wait to the queue", extra={"execution_id": execution_id})

    def _next_due(self) -> list[str]:
        with self._changed:
            while True:
                now = time.time()
                due = []
                while self._heap and self._heap[0][0] <= now:
                    when, execution_id = heapq.heappop(self._heap)
                    if self._due.get(execution_id) == when:  # else rescheduled: a stale entry
                        del self._due[execution_id]
                        due.append(execution_id)
                if due:
                    return due
                self._changed.wait(self._heap[0][0] - now if self._heap else None)


def _dispatch(execution_id: str) -> None:
    from backend.executions import dispatch

    dispatch.dispatch(execution_id)


@functools.cache
def wake_ups() -> WakeUps:
    """The process's wake-ups, sending through the queue port."""
    return WakeUps(_dispatch)


def schedule_wake_up(execution_id: str, resume_at: datetime | None) -> None:
    if resume_at is not None:
        wake_ups().schedule(execution_id, resume_at if resume_at.tzinfo else resume_at.replace(tzinfo=utcnow().tzinfo))
