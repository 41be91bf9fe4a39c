"""Events that may follow their cause by a moment: batched per event loop, written from a thread (on the loop
itself when the database is an in-process SQLite, after the requests in flight: backend/foreground.py).

For facts about a request that belong to no change's transaction (webhook.events, the trigger firing
of a webhook run): the request adds an entry and goes on; ``FLUSH_AFTER_S`` later the loop's entries
are gathered into one event per (topic, head) — e.g. one webhook.answered per workflow listing its
requests — and written as outbox rows in one transaction, on a thread, so the request path does no
database work for them (the relay checks each against its schema before publishing it). `LoopBatch` does
the batching, here and for billing's unsaved runs (backend/billing/unsaved.py).
The price: a process that dies within ``FLUSH_AFTER_S`` loses those events, never the change they
describe. If the database refuses the write, the batch is kept and written with the next one.
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from collections import defaultdict
from collections.abc import Callable

from sqlalchemy import insert

from backend.db.group_commit import per_loop
from backend.db.session import get_engine, in_process_database, write_on_loop
from backend.events.models import OutboxEvent
from backend.events.outbox import nobody_reads, outbox_row
from backend.events.packed import PACKED
from backend.foreground import give_way

log = logging.getLogger("linkflow.events.deferred")
FLUSH_AFTER_S = 0.2
RETRY_S = 1.0
MAX_PENDING = 100_000  # while the database is away; past it the oldest are dropped (and logged)
MAX_PER_EVENT = 1000  # the schemas' bound on one event's list


class LoopBatch:
    """Entries added from one event loop, written together ``flush_after_s`` later on a thread (the loop's
    default executor). A write that fails keeps its entries for the next one, ``retry_s`` later, up to
    ``max_pending`` (the oldest are dropped past it, and logged). ``what`` names the entries in the logs.
    Used here and by billing's unsaved runs (backend/billing/unsaved.py)."""

    def __init__(self, loop: asyncio.AbstractEventLoop, write: Callable[[list], None], what: str, *,
                 flush_after_s: float = FLUSH_AFTER_S, retry_s: float = RETRY_S,
                 max_pending: int = MAX_PENDING) -> None:
        self._loop, self._write, self._what = loop, write, what
        self._flush_after_s, self._retry_s, self._max_pending = flush_after_s, retry_s, max_pending
        self._pending: list = []
        self._scheduled = False

    def add(self, entry: object) -> None:
        self._pending.append(entry)
        if not self._scheduled:
            self._scheduled = True
            self._loop.call_later(self._flush_after_s, self._flush)

    def _flush(self) -> None:
        pending, self._pending = self._pending, []
        if not pending:
            self._scheduled = False
            return
        if in_process_database():  # an in-process SQLite: on the loop, after the requests in flight
            self._loop.create_task(self._write_on_loop(pending)).add_done_callback(
                lambda done: self._on_loop_written(pending, done))
            return
        self._loop.run_in_executor(None, self._write, pending).add_done_callback(
            lambda done: self._written(pending, done.exception()))

    async def _write_on_loop(self, pending: list) -> None:
        """On an in-process SQLite: a thread writing here held the interpreter lock against the request loop
        (backend/foreground.py); the write itself takes well under a millisecond."""
        await give_way()
        await write_on_loop(lambda: self._write(pending))

    def _on_loop_written(self, pending: list, done: asyncio.Future) -> None:
        if done.cancelled():  # the loop is going down: nothing more is written from it
            self._pending = pending + self._pending
            return
        self._written(pending, done.exception())

    def _written(self, pending: list, error: BaseException | None) -> None:
        self._scheduled = False
        if error is not None:
            log.error("could not write %s; retried", self._what, exc_info=error, extra={"entries": len(pending)})
            merged = pending + self._pending
            if len(merged) > self._max_pending:
                log.error("%s dropped: the database was away too long", self._what,
                          extra={"dropped": len(merged) - self._max_pending})
            self._pending = merged[-self._max_pending:]
        if self._pending:
            self._scheduled = True
            self._loop.call_later(self._retry_s if error is not None else self._flush_after_s, self._flush)


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


_batches: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, LoopBatch] = weakref.WeakKeyDictionary()


def emit_soon(topic: str, key: str, head: tuple[tuple[str, object], ...], field: str, item: list) -> None:
    """Within ``FLUSH_AFTER_S``, write the packed `item` into the `field` list of an event
    `{**dict(head), field: [...]}`, with the other items of this event loop that share topic, key and head. Nothing
    for a topic no consumer would get (the in-process bus: backend.events.outbox.nobody_reads)."""
    if not nobody_reads(topic):
        per_loop(_batches, _new_batch).add((topic, key, head, field, item))


def _new_batch(loop: asyncio.AbstractEventLoop) -> LoopBatch:
    return LoopBatch(loop, write, "deferred events")
