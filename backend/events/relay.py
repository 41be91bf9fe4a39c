"""The outbox relay: publish committed outbox rows to the bus, oldest first.

A row is marked published in the same transaction that selected it, after the bus
accepted it. A crash between the two publishes it again on the next run, so delivery
is at least once: every payload carries the outbox id as `event_id` (and the row's
`occurred_at`) for consumers to dedupe on. A packed row of several events (the outcomes of
webhook runs committed together) publishes each as an event of its own, keyed by its
execution, with an `event_id` of its own (backend/events/packed.py); if the bus refuses any of
them, the whole row is published again, with the same ids.

On PostgreSQL the rows are claimed with `FOR UPDATE SKIP LOCKED`, so several relays
(one per `linkflow worker`) share the work. So that events with one key still leave in
order, a relay holds back a key while an older row of it is claimed by another relay.

Before it leaves, every row is checked against its event schema (backend/events/schemas/), on the
relay's thread, off the path of the request that wrote it (a packed row of a hot path is expanded first,
backend/events/packed.py): a row that does not match is published to
dlq.events instead (the reason with it, service "outbox-relay"), marked published with the reason as its
`last_error`, and never reaches its topic.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import sqlite3
from datetime import UTC, datetime
from typing import NamedTuple

from sqlalchemy import Select, func, select, update
from sqlalchemy.orm import Session

from backend.db.base import utcnow
from backend.db.fast_insert import sqlite_datetime
from backend.db.session import (
    driver_connection,
    driver_transaction,
    get_engine,
    in_process_database,
    write_on_loop,
)
from backend.events import schemas
from backend.events.bus import CheckedEvent, Event, EventBus, PublishError
from backend.events.consumers import DEAD_LETTERED, dead_letter
from backend.events.models import OutboxEvent
from backend.events.packed import split, split_event_id, unpack
from backend.foreground import Slices, lagging

log = logging.getLogger("linkflow.events.relay")
BATCH = 500
INTERVAL_S = 1.0
BUSY_INTERVAL_S = 0.2  # after a batch that published something
MAX_ERROR_CHARS = 2000
SERVICE = "outbox-relay"  # the dead letters of rows refused by their schema name it


class Scope(NamedTuple):
    """Which topics a relay publishes: `only` these (None: every topic), none of `skip`. `linkflow up` with its
    event pipeline in a process of its own (LINKFLOW_EVENTS_PIPELINE=process) runs two relays on one SQLite
    file: the server's publishes execution.commands (its consumer acts on the executions that process runs),
    the pipeline process's every other topic. Their rows never overlap, so neither waits for the other."""

    only: tuple[str, ...] | None = None
    skip: tuple[str, ...] = ()

    def claim(self, query: Select) -> Select:
        if self.only is not None:
            query = query.where(OutboxEvent.topic.in_(self.only))
        if self.skip:
            query = query.where(OutboxEvent.topic.not_in(self.skip))
        return query

    def sql(self) -> tuple[str, tuple[str, ...]]:
        """The same, as a condition of `_PAGE_SQL` and its parameters."""
        parts, values = "", ()
        if self.only is not None:
            parts += f" AND topic IN ({', '.join('?' * len(self.only))})"
            values += self.only
        if self.skip:
            parts += f" AND topic NOT IN ({', '.join('?' * len(self.skip))})"
            values += self.skip
        return parts, values


EVERY_TOPIC = Scope()


async def relay_once(bus: EventBus, batch: int = BATCH, scope: Scope = EVERY_TOPIC) -> int:
    """Publish up to `batch` unpublished outbox rows; returns how many were published (a row refused by its
    schema counts once its dead letter is published).

    On PostgreSQL the database work runs on a thread. On SQLite (`linkflow up`) all of it runs on the loop, in
    slices that give way to the requests in flight (backend/foreground.py): the database answers in
    microseconds, and on a thread the batch's Python work held the interpreter lock against the request loop."""
    session = Session(get_engine(), expire_on_commit=False)
    on_loop = in_process_database()
    try:
        prepared = await (_prepare_on_loop(session, batch, scope) if on_loop else
                          asyncio.to_thread(_prepare, session, batch, scope))
        if not prepared.rows:
            return 0
        failed = prepared.rows_of(await _publish(bus, prepared.events))
        if on_loop:
            await _settle_on_loop(session, prepared, failed)
        else:
            await asyncio.to_thread(_settle, session, prepared.rows, failed, prepared.refused)
        DEAD_LETTERED[SERVICE] += sum(1 for index in prepared.dead if prepared.owners[index] not in failed)
        return len(prepared.rows) - len(failed)
    finally:
        if on_loop:
            session.close()
        else:
            await asyncio.to_thread(session.close)  # rolls back whatever was not committed


async def relay_loop(bus: EventBus, stop: asyncio.Event, *, interval_s: float = INTERVAL_S,
                     batch: int = BATCH, busy_interval_s: float = BUSY_INTERVAL_S, scope: Scope = EVERY_TOPIC) -> None:
    """Relay until `stop` is set: at once again after a full batch, after `busy_interval_s` after a batch that
    published something, else every `interval_s`. Under load the events of a second leave in several smaller
    batches, not in one burst (a batch of packed rows can stand for thousands of events, which the in-process
    consumers would otherwise take all at once, and the request loop's latency with them)."""
    log.info("outbox relay started", extra={"only": scope.only, "skip": scope.skip})
    while not stop.is_set():
        wait_s = interval_s
        try:
            published = await relay_once(bus, batch, scope)
            if published >= batch:
                continue
            if published:
                wait_s = busy_interval_s
        except Exception:  # the database is unreachable: keep the loop alive, the next tick retries
            log.exception("outbox relay tick failed")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), wait_s)


class _Row(NamedTuple):
    """An unpublished outbox row as the relay reads it: plain columns, no ORM object (a batch is 500 rows)."""

    id: int
    topic: str
    key: str
    payload: dict
    created_at: datetime


_CLAIM = select(OutboxEvent.id, OutboxEvent.topic, OutboxEvent.key, OutboxEvent.payload, OutboxEvent.created_at) \
    .where(OutboxEvent.published_at.is_(None)).order_by(OutboxEvent.id)


def _claim(session: Session, batch: int, scope: Scope = EVERY_TOPIC) -> list[_Row]:
    rows = [_Row(*row) for row in session.execute(scope.claim(_CLAIM).limit(batch).with_for_update(skip_locked=True))]
    if session.get_bind().dialect.name == "sqlite":
        return rows  # no row locks, so no rows claimed by another relay to wait for (`linkflow up`: one per topic)
    return _without_overtaking(session, rows, scope)


def _without_overtaking(session: Session, rows: list[_Row], scope: Scope = EVERY_TOPIC) -> list[_Row]:
    """Drop the keys that have an older unpublished row outside this batch (claimed by another relay)."""
    first_claimed: dict[str, int] = {}
    for row in rows:
        first_claimed.setdefault(row.key, row.id)
    if not first_claimed:
        return rows
    oldest = {key: first for key, first in session.execute(
        scope.claim(select(OutboxEvent.key, func.min(OutboxEvent.id)))
        .where(OutboxEvent.published_at.is_(None), OutboxEvent.key.in_(first_claimed))
        .group_by(OutboxEvent.key))}
    held = {key for key, first in first_claimed.items() if oldest.get(key, first) < first}
    return [row for row in rows if row.key not in held]


class _Prepared(NamedTuple):
    """A claimed batch: its rows, the events they publish (a packed row of several events, several: `owners`
    maps each event to its row), the reason of each row refused by its schema (in part, for a packed row of
    several events), and which events are dead letters."""

    rows: list[_Row]
    events: list[Event]
    owners: list[int]
    refused: dict[int, str]
    dead: list[int]

    def add(self, index: int, events: list[tuple[Event, str | None]]) -> None:
        """The events of row `index`, each with the reason it was refused (then it is its dead letter) or None."""
        for event, reason in events:
            if reason is not None:
                self.refused.setdefault(index, reason)
                self.dead.append(len(self.events))
            self.events.append(event)
            self.owners.append(index)

    def rows_of(self, failed: dict[int, BaseException]) -> dict[int, BaseException]:
        """The rows with an event the bus did not take: each is retried whole (its events again, same ids)."""
        return {self.owners[index]: exc for index, exc in failed.items()}


def _prepare(session: Session, batch: int, scope: Scope = EVERY_TOPIC) -> _Prepared:
    prepared = _Prepared(_claim(session, batch, scope), [], [], {}, [])
    for index, row in enumerate(prepared.rows):
        prepared.add(index, _events(row))
    return prepared


PAGE = 50  # rows read at a time on the loop (SQLite), a slice's worth at most


async def _prepare_on_loop(session: Session, batch: int, scope: Scope = EVERY_TOPIC) -> _Prepared:
    """`_prepare` for an in-process SQLite, on the loop: the rows read a page at a time, each checked, giving
    way to requests between slices. One relay per topic (no row locks to respect), and its ids only grow."""
    slices = Slices()
    prepared = _Prepared([], [], [], {}, [])
    driver = driver_connection(session.get_bind())
    while len(prepared.rows) < batch:
        after = prepared.rows[-1].id if prepared.rows else 0
        size = min(PAGE, batch - len(prepared.rows))
        page = (_page_on_driver(driver, after, size, scope) if driver is not None else
                [_Row(*row) for row in session.execute(scope.claim(_CLAIM).where(OutboxEvent.id > after).limit(size))])
        if not after:  # how far behind the pipeline is: while it is too far, it stops waiting for requests
            lagging((utcnow() - page[0].created_at).total_seconds() if page else 0.0)
        for row in page:
            prepared.rows.append(row)
            prepared.add(len(prepared.rows) - 1, _events(row))
            await slices.tick()
        if len(page) < PAGE:
            break
    return prepared


_PAGE_SQL = (f'SELECT id, topic, "key", payload, created_at FROM "{OutboxEvent.__tablename__}" '
             'WHERE published_at IS NULL AND id > ?{scope} ORDER BY id LIMIT ?')


def _page_on_driver(driver: sqlite3.Connection, after: int, size: int,
                    scope: Scope = EVERY_TOPIC) -> list[_Row]:
    """`_CLAIM`'s page on the loop's driver connection (backend.db.session.driver_connection), each value as
    SQLAlchemy reads it: the payload's JSON parsed, `created_at` (SQLite's DATETIME text) as an aware UTC datetime."""
    condition, values = scope.sql()
    return [_Row(id_, topic, key, json.loads(payload), datetime.fromisoformat(created_at).replace(tzinfo=UTC))
            for id_, topic, key, payload, created_at in driver.execute(_PAGE_SQL.format(scope=condition),
                                                                       (after, *values, size))]


def _events(row: _Row) -> list[tuple[Event, str | None]]:
    """The events a row publishes, each checked against its schema: (the event, None) or (its dead letter, why)."""
    try:
        parts = split(row.payload)
        if parts is None:
            return [_checked(row, _event(row, unpack(row.payload)), whole_row=True)]
    except (ValueError, TypeError) as exc:  # a packed row of the wrong shape: dead-lettered whole
        return [_refused(row, _event(row, row.payload), f"{type(exc).__name__}: {exc}")]
    return [_checked(row, _split_event(row, position, payload), whole_row=False)
            for position, payload in enumerate(parts)]


def _checked(row: _Row, event: Event, *, whole_row: bool) -> tuple[Event, str | None]:
    """A refused event of a row of one event is dead-lettered as the row stored it (packed, if it was); one of
    a packed row of several, as the event it made."""
    try:
        schema = schemas.validate(event.topic, event.key, event.payload)
    except (ValueError, TypeError) as exc:  # schemas.InvalidEvent, or a packed entry of the wrong shape
        return _refused(row, _event(row, row.payload) if whole_row else event, f"{type(exc).__name__}: {exc}")
    return CheckedEvent.read(event, schema), None  # an in-process consumer handed it does not check it again


def _refused(row: _Row, event: Event, reason: str) -> tuple[Event, str]:
    log.error("outbox event refused by its schema; sent to dlq.events instead", extra={
        "topic": row.topic, "outbox_id": row.id, "error": reason})
    return dead_letter(event, reason, SERVICE, 0), reason


def _event(row: _Row, payload: dict) -> Event:
    return Event(row.topic, row.key, {**payload, "event_id": row.id, "occurred_at": row.created_at.isoformat()})


def _split_event(row: _Row, position: int, payload: dict) -> Event:
    """One event of a packed row of several: keyed by its own entity, with an `event_id` of its own."""
    key = payload.get("execution_id")
    return Event(row.topic, key if isinstance(key, str) else row.key, {
        **payload, "event_id": split_event_id(row.id, position), "occurred_at": row.created_at.isoformat()})


async def _publish(bus: EventBus, events: list[Event]) -> dict[int, BaseException]:
    try:
        await bus.publish(events)
    except PublishError as exc:
        failed = exc.failed
    except Exception as exc:  # the bus is unreachable: nothing of the batch was published
        failed = dict.fromkeys(range(len(events)), exc)
    else:
        return {}
    first = next(iter(failed.values()))
    log.warning("outbox events not published; retried on the next tick",
                extra={"failed": len(failed), "batch": len(events), "error": f"{type(first).__name__}: {first}"})
    return failed


SETTLE_CHUNK = 50  # rows marked published per transaction on the loop (SQLite), a slice's worth


async def _settle_on_loop(session: Session, prepared: _Prepared, failed: dict[int, BaseException]) -> None:
    """`_settle` in transactions of `SETTLE_CHUNK` rows, giving way to requests between them (never inside one:
    a request's write on this loop would wait for the lock a transaction left open across the pause). Each waits
    for SQLite's write lock with the loop turning (`write_on_loop`)."""
    slices = Slices()
    session.commit()  # ends the reads' transaction: each chunk's begins anew, not waiting inside SQLite for the lock
    for start in range(0, len(prepared.rows), SETTLE_CHUNK):
        end = start + SETTLE_CHUNK
        await slices.tick()
        rows = prepared.rows[start:end]
        chunk_failed = {index - start: exc for index, exc in failed.items() if start <= index < end}
        chunk_refused = {index - start: reason for index, reason in prepared.refused.items() if start <= index < end}
        await write_on_loop(lambda rows=rows, chunk_failed=chunk_failed, chunk_refused=chunk_refused: _settle_chunk(
            session, rows, chunk_failed, chunk_refused), undo=session.rollback)


def _settle_chunk(session: Session, rows: list[_Row], failed: dict[int, BaseException],
                  refused: dict[int, str]) -> None:
    """`_settle` on the loop's own driver connection (backend.db.session.driver_transaction), as the webhook runs'
    group commit writes: ~4x less CPU than through the session, and that connection's page cache stays warm."""
    with driver_transaction(session.get_bind()) as driver:
        if driver is not None:
            _settle_on_driver(driver, rows, failed, refused)
            return
    _settle(session, rows, failed, refused)


_OUTBOX = OutboxEvent.__tablename__


def _settle_on_driver(driver: sqlite3.Connection, rows: list[_Row], failed: dict[int, BaseException],
                      refused: dict[int, str]) -> None:
    """What `_settle` writes, in SQLite's SQL; the caller's transaction commits it."""
    published = [row.id for index, row in enumerate(rows) if index not in failed]
    if published:
        driver.execute(f'UPDATE "{_OUTBOX}" SET published_at = ? WHERE id IN ({", ".join("?" * len(published))})',
                       [sqlite_datetime(utcnow()), *published])
    for index, reason in refused.items():
        if index not in failed:
            driver.execute(f'UPDATE "{_OUTBOX}" SET last_error = ? WHERE id = ?',
                           (reason[:MAX_ERROR_CHARS], rows[index].id))
    for index, exc in failed.items():
        driver.execute(f'UPDATE "{_OUTBOX}" SET attempts = attempts + 1, last_error = ? WHERE id = ?',
                       (f"{type(exc).__name__}: {exc}"[:MAX_ERROR_CHARS], rows[index].id))


def _settle(session: Session, rows: list[_Row], failed: dict[int, BaseException],
            refused: dict[int, str]) -> None:
    published = [row.id for index, row in enumerate(rows) if index not in failed]
    if published:
        session.execute(update(OutboxEvent).where(OutboxEvent.id.in_(published)).values(published_at=utcnow()),
                        execution_options={"synchronize_session": False})
    for index, reason in refused.items():
        if index not in failed:
            session.execute(update(OutboxEvent).where(OutboxEvent.id == rows[index].id)
                            .values(last_error=reason[:MAX_ERROR_CHARS]))
    for index, exc in failed.items():
        session.execute(update(OutboxEvent).where(OutboxEvent.id == rows[index].id).values(
            attempts=OutboxEvent.attempts + 1, last_error=f"{type(exc).__name__}: {exc}"[:MAX_ERROR_CHARS]))
    session.commit()
