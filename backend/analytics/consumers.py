"""The `analytics` consumer: usage facts from analytics.events into the Insights rollups, once per event.

Events come in batches (a Kafka fetch, or what the in-memory bus has queued): one transaction counts a
whole batch, its facts summed per rollup row first (backend/analytics/service.py).
"""

from __future__ import annotations

import asyncio

from backend.analytics.service import record_usage_batch
from backend.db.session import in_process_database, session_scope, write_on_loop
from backend.errors import UserError
from backend.events import schemas
from backend.events.bus import Event
from backend.events.consumers import Consumer
from backend.events.schemas.other import ExecutionUsage
from backend.foreground import Slices


def _count(events: list[Event]) -> dict[int, Exception]:
    facts: list[ExecutionUsage] = []
    refused: dict[int, Exception] = {}
    for position, event in enumerate(events):
        _take(position, event, facts, refused)
    if facts:
        with session_scope() as session:
            record_usage_batch(session, facts)
    return refused


def _take(position: int, event: Event, facts: list[ExecutionUsage], refused: dict[int, Exception]) -> None:
    fact = schemas.validate(event.topic, event.key, event.payload)
    if not isinstance(fact, ExecutionUsage):  # other analytics event types: not counted yet
        return
    if fact.event_id is None:
        refused[position] = UserError("an analytics event without an event_id cannot be counted exactly once; "
                                      "events reach analytics through the outbox, which sets it")
        return
    facts.append(fact)


ON_LOOP_CHUNK = 8  # usage events per transaction on the loop: a slice's worth


async def _count_on_loop(events: list[Event]) -> dict[int, Exception]:
    """`_count` for an in-process SQLite (`linkflow up`), on the loop in slices that give way to requests
    (backend/foreground.py), a transaction per `ON_LOOP_CHUNK` events: each event still counts once, by its id."""
    slices = Slices()
    facts: list[ExecutionUsage] = []
    refused: dict[int, Exception] = {}
    for position, event in enumerate(events):
        _take(position, event, facts, refused)
        await slices.tick()
    for start in range(0, len(facts), ON_LOOP_CHUNK):
        await write_on_loop(lambda chunk=facts[start:start + ON_LOOP_CHUNK]: _record(chunk))
        await slices.tick()
    return refused


def _record(facts: list[ExecutionUsage]) -> None:
    with session_scope() as session:
        record_usage_batch(session, facts)


async def handle_batch(events: list[Event]) -> dict[int, Exception]:
    if in_process_database():
        return await _count_on_loop(events)
    return await asyncio.to_thread(_count, events)


async def handle(event: Event) -> None:
    refused = await handle_batch([event])
    if refused:
        raise refused[0]


CONSUMER = Consumer("analytics", ("analytics.events",), handle, handle_batch=handle_batch)
