"""Events that may follow their cause by a moment: batched per event loop, written from a thread.

For facts about a request that belong to no change's transaction (webhook.events, the trigger firing
of a webhook run): the request adds its events and goes on; ``FLUSH_AFTER_S`` later the loop's batch is
checked against the schemas and written as outbox rows in one transaction, on a thread, so the request
path does no database work for them (the same scheme as billing's unsaved runs, backend/billing/unsaved.py).
The price: a process that dies within ``FLUSH_AFTER_S`` loses those events, never the change they
describe. If the database refuses the write, the batch is kept and written with the next one.
"""

from __future__ import annotations

import asyncio
import logging
import weakref

from sqlalchemy import insert

from backend.db.session import get_engine
from backend.events import schemas
from backend.events.models import OutboxEvent
from backend.events.outbox import outbox_row

log = logging.getLogger("linkflow.events.deferred")
FLUSH_AFTER_S = 0.2
RETRY_S = 1.0
MAX_PENDING = 100_000  # while the database is away; past it the oldest are dropped (and logged)


class _Batch:
    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._pending: list[tuple[str, str, dict]] = []
        self._scheduled = False

    def add(self, event: tuple[str, str, dict]) -> None:
        self._pending.append(event)
        if not self._scheduled:
            self._scheduled = True
            self._loop.call_later(FLUSH_AFTER_S, self._flush)

    def _flush(self) -> None:
        pending, self._pending = self._pending, []
        if not pending:
            self._scheduled = False
            return
        self._loop.run_in_executor(None, write, pending).add_done_callback(
            lambda done: self._written(pending, done.exception()))

    def _written(self, pending: list, error: BaseException | None) -> None:
        self._scheduled = False
        if error is not None:
            log.error("could not write deferred events; retried", exc_info=error, extra={"events": len(pending)})
            merged = pending + self._pending
            if len(merged) > MAX_PENDING:
                log.error("deferred events dropped: the database was away too long",
                          extra={"dropped": len(merged) - MAX_PENDING})
            self._pending = merged[-MAX_PENDING:]
        if self._pending:
            self._scheduled = True
            self._loop.call_later(RETRY_S if error is not None else FLUSH_AFTER_S, self._flush)


def write(pending: list[tuple[str, str, dict]]) -> None:
    """One transaction for the batch; an event its schema refuses is logged and left out (a bug)."""
    rows = []
    for topic, key, payload in pending:
        try:
            rows.append(outbox_row(topic, key, payload))
        except schemas.InvalidEvent as exc:
            log.error("deferred event refused by its schema", extra={"topic": topic, "error": str(exc)})
    if rows:
        with get_engine().begin() as conn:
            conn.execute(insert(OutboxEvent), rows)


_batches: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Batch] = weakref.WeakKeyDictionary()


def emit_soon(topic: str, key: str, payload: dict) -> None:
    """Write this event to the outbox within ``FLUSH_AFTER_S``, with the others of this event loop."""
    loop = asyncio.get_running_loop()
    batch = _batches.get(loop)
    if batch is None:
        batch = _batches[loop] = _Batch(loop)
    batch.add((topic, key, payload))
