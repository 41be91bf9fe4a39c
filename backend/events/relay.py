"""The outbox relay: publish committed outbox rows to the bus, oldest first.

A row is marked published in the same transaction that selected it, after the bus
accepted it. A crash between the two publishes it again on the next run, so delivery
is at least once: every payload carries the outbox id as `event_id` (and the row's
`occurred_at`) for consumers to dedupe on.

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
import logging
from datetime import datetime
from typing import NamedTuple

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from backend.db.base import utcnow
from backend.db.session import get_engine
from backend.events import schemas
from backend.events.bus import Event, EventBus, PublishError
from backend.events.consumers import DEAD_LETTERED, checked, dead_letter
from backend.events.models import OutboxEvent
from backend.events.packed import unpack

log = logging.getLogger("linkflow.events.relay")
BATCH = 500
INTERVAL_S = 1.0
MAX_ERROR_CHARS = 2000
SERVICE = "outbox-relay"  # the dead letters of rows refused by their schema name it


async def relay_once(bus: EventBus, batch: int = BATCH) -> int:
    """Publish up to `batch` unpublished outbox rows; returns how many were published (a row refused by its
    schema counts once its dead letter is published)."""
    session = Session(get_engine(), expire_on_commit=False)
    try:
        rows, events, refused = await asyncio.to_thread(_prepare, session, batch)
        if not rows:
            return 0
        failed = await _publish(bus, events)
        await asyncio.to_thread(_settle, session, rows, failed, refused)
        DEAD_LETTERED[SERVICE] += len(refused.keys() - failed.keys())
        return len(rows) - len(failed)
    finally:
        await asyncio.to_thread(session.close)  # rolls back whatever was not committed


async def relay_loop(bus: EventBus, stop: asyncio.Event, *, interval_s: float = INTERVAL_S,
                     batch: int = BATCH) -> None:
    """Relay until `stop` is set: at once again after a full batch, else every `interval_s`."""
    log.info("outbox relay started")
    while not stop.is_set():
        try:
            if await relay_once(bus, batch) >= batch:
                continue
        except Exception:  # the database is unreachable: keep the loop alive, the next tick retries
            log.exception("outbox relay tick failed")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), interval_s)


class _Row(NamedTuple):
    """An unpublished outbox row as the relay reads it: plain columns, no ORM object (a batch is 500 rows)."""

    id: int
    topic: str
    key: str
    payload: dict
    created_at: datetime


_CLAIM = select(OutboxEvent.id, OutboxEvent.topic, OutboxEvent.key, OutboxEvent.payload, OutboxEvent.created_at) \
    .where(OutboxEvent.published_at.is_(None)).order_by(OutboxEvent.id)


def _claim(session: Session, batch: int) -> list[_Row]:
    rows = [_Row(*row) for row in session.execute(_CLAIM.limit(batch).with_for_update(skip_locked=True))]
    if session.get_bind().dialect.name == "sqlite":
        return rows  # no row locks, so no rows claimed by another relay to wait for (one process: `linkflow up`)
    return _without_overtaking(session, rows)


def _without_overtaking(session: Session, rows: list[_Row]) -> list[_Row]:
    """Drop the keys that have an older unpublished row outside this batch (claimed by another relay)."""
    first_claimed: dict[str, int] = {}
    for row in rows:
        first_claimed.setdefault(row.key, row.id)
    if not first_claimed:
        return rows
    oldest = {key: first for key, first in session.execute(
        select(OutboxEvent.key, func.min(OutboxEvent.id))
        .where(OutboxEvent.published_at.is_(None), OutboxEvent.key.in_(first_claimed))
        .group_by(OutboxEvent.key))}
    held = {key for key, first in first_claimed.items() if oldest.get(key, first) < first}
    return [row for row in rows if row.key not in held]


def _prepare(session: Session, batch: int) -> tuple[list[_Row], list[Event], dict[int, str]]:
    """The claimed rows, the event each one publishes, and the reasons of those refused by their schema."""
    rows = _claim(session, batch)
    events, refused = [], {}
    for index, row in enumerate(rows):
        try:
            event = _event(row, unpack(row.payload))
            schemas.validate(event.topic, event.key, event.payload)
            checked(event)  # an in-process consumer handed this object does not check it again
        except (schemas.InvalidEvent, ValueError, TypeError) as exc:  # a packed row of the wrong shape too
            refused[index] = f"{type(exc).__name__}: {exc}"
            log.error("outbox event refused by its schema; sent to dlq.events instead", extra={
                "topic": row.topic, "outbox_id": row.id, "error": refused[index]})
            event = dead_letter(_event(row, row.payload), refused[index], SERVICE, 0)
        events.append(event)
    return rows, events, refused


def _event(row: _Row, payload: dict) -> Event:
    return Event(row.topic, row.key, {**payload, "event_id": row.id, "occurred_at": row.created_at.isoformat()})


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
