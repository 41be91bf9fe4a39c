"""The `analytics` consumer: usage facts from analytics.events into the Insights rollups, once per event.

Events come in batches (a Kafka fetch, or what the in-memory bus has queued): one transaction counts a
whole batch, its facts summed per rollup row first (backend/analytics/service.py).
"""

from __future__ import annotations

import asyncio

from backend.analytics.service import record_usage_batch, record_usage_on_driver
from backend.db.session import (
    driver_transaction,
    get_engine,
    in_process_database,
    session_scope,
    write_on_loop,
)
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
    # As the relay of this process read it (CheckedEvent.schema), or as it reads now (Kafka: an Event per group).
    fact = getattr(event, "schema", None) or schemas.validate(event.topic, event.key, event.payload)
    if not isinstance(fact, ExecutionUsage):  # other analytics event types: not counted yet
        return
    if fact.event_id is None:
        refused[position] = UserError("an analytics event without an event_id cannot be counted exactly once; "
                                      "events reach analytics through the outbox, which sets it")
        return
    facts.append(fact)


ON_LOOP_RUNS = 128  # executions counted per transaction on the loop (a group commit's event holds many)...
ON_LOOP_EVENTS = 16  # ...and at most this many events (one per run when runs are saved one at a time): 64 cut the
# CPU per saved run one at a time by ~11 % but held the loop long enough to add ~1 ms to p99; 16 cut ~6 % and left
# p99 as it was (bench/webhook_app.py --ab analytics-chunk)


async def _count_on_loop(events: list[Event]) -> dict[int, Exception]:
    """`_count` for an in-process SQLite (`linkflow up`), on the loop in slices that give way to requests
    (backend/foreground.py): a transaction per `chunks` of the facts. Each event still counts once, by its id."""
    slices = Slices()
    facts: list[ExecutionUsage] = []
    refused: dict[int, Exception] = {}
    for position, event in enumerate(events):
        _take(position, event, facts, refused)
        await slices.tick()
    for chunk in chunks(facts):
        await write_on_loop(lambda chunk=chunk: _record(chunk))
        await slices.tick()
    return refused


def chunks(facts: list[ExecutionUsage]) -> list[list[ExecutionUsage]]:
    """The facts in transactions of about `ON_LOOP_RUNS` executions, `ON_LOOP_EVENTS` events at most. A
    transaction's fixed cost (the workflows' time-saved read, the statements, the commit) is most of it when each
    event is one run: in transactions of 8 events, runs saved one at a time spent ~11 % of `linkflow up`'s
    interpreter time in analytics."""
    out: list[list[ExecutionUsage]] = []
    runs = 0
    for fact in facts:
        if not out or runs >= ON_LOOP_RUNS or len(out[-1]) >= ON_LOOP_EVENTS:
            out.append([])
            runs = 0
        out[-1].append(fact)
        runs += len(fact.executions)
    return out


def _record(facts: list[ExecutionUsage]) -> None:
    """One transaction of `_count_on_loop`: on the loop's own driver connection (backend.db.session.
    driver_transaction), where SQLAlchemy's session and statements cost ~2 ms of CPU a transaction of 16 events,
    most of the consumer's time when runs are saved one at a time."""
    with driver_transaction(get_engine()) as driver:
        if driver is not None:
            record_usage_on_driver(driver, facts)
            return
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
