"""Events that may follow their cause by a moment: batched per event loop, written from a thread.

For facts about a request that belong to no change's transaction (webhook.events, the trigger firing
of a webhook run): the request adds an entry and goes on; ``FLUSH_AFTER_S`` later the loop's entries
are gathered into one event per (topic, head) — e.g. one webhook.answered per workflow listing its
requests — and written as outbox rows in one transaction, on a thread, so the request path does no
database work for them (the relay checks each against its schema before publishing it) (the scheme of billing's unsaved runs,
backend/billing/unsaved.py).
The price: a process that dies within ``FLUSH_AFTER_S`` loses those events, never the change they
describe. If the database refuses the write, the batch is kept and written with the next one.
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from collections import defaultdict

from sqlalchemy import insert

from backend.db.session import get_engine
from backend.events.models import OutboxEvent
from backend.events.outbox import outbox_row
from backend.events.packed import PACKED

log = logging.getLogger("linkflow.events.deferred")
FLUSH_AFTER_S = 0.2
RETRY_S = 1.0
MAX_PENDING = 100_000  # while the database is away; past it the oldest are dropped (and logged)
MAX_PER_EVENT = 1000  # the schemas' bound on one event's list


class _Batch:
    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._pending: list[Entry] = []
        self._scheduled = False

    def add(self, entry: Entry) -> None:
        self._pending.append(entry)
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


# (topic, key, head: the event's fields besides the list, e.g. type, workflow_id, team_id; field: the list the
# entries go into; item: one packed entry, backend/events/packed.py, that the relay expands). A plain tuple:
# one is made per webhook request.
Entry = tuple[str, str, tuple[tuple[str, object], ...], str, list]


def write(pending: list[Entry]) -> None:
    """One transaction for the batch."""
    grouped: dict[tuple, list[list]] = defaultdict(list)
    for topic, key, head, field, item in pending:
        grouped[(topic, key, head, field)].append(item)
    rows = []
    for (topic, key, head, field), items in grouped.items():
        for start in range(0, len(items), MAX_PER_EVENT):
            rows.append(outbox_row(topic, key, {**dict(head), field: items[start:start + MAX_PER_EVENT], PACKED: 1}))
    if rows:
        with get_engine().begin() as conn:
            conn.execute(insert(OutboxEvent), rows)


_batches: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Batch] = weakref.WeakKeyDictionary()


def emit_soon(topic: str, key: str, head: tuple[tuple[str, object], ...], field: str, item: list) -> None:
    """Within ``FLUSH_AFTER_S``, write the packed `item` into the `field` list of an event
    `{**dict(head), field: [...]}`, with the other items of this event loop that share topic, key and head."""
    loop = asyncio.get_running_loop()
    batch = _batches.get(loop)
    if batch is None:
        batch = _batches[loop] = _Batch(loop)
    batch.add((topic, key, head, field, item))
