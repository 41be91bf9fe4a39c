"""Consumers retry a failing handler with backoff, then dead-letter the event and move on."""

from __future__ import annotations

import asyncio

import pytest

from backend.errors import UserError
from backend.events.bus import Event, InMemoryBus, PublishError
from backend.events.consumers import (
    Consumer,
    RetryPolicy,
    deliver_batch,
    get_consumer,
    registry,
    run_consumer,
    service_consumers,
)

NO_WAIT = RetryPolicy(attempts=5, first_delay_s=0)
AUDIT = Event("audit.log", "t", {"action": "workflow.create", "team_id": "t"})


def deleted(event_id: int) -> Event:
    return Event("workflow.events", "wf-1", {"type": "workflow.deleted", "workflow_id": "wf-1", "team_id": "t",
                                             "event_id": event_id})


async def start(bus, consumer, stop, retry=NO_WAIT) -> asyncio.Task:
    task = asyncio.create_task(run_consumer(bus, consumer, stop, retry))
    await asyncio.sleep(0)
    return task


async def test_a_handler_that_keeps_failing_dead_letters_the_event_and_the_consumer_moves_on(listen):
    bus, stop = InMemoryBus(), asyncio.Event()
    dlq = await listen(bus, "dlq-watch", ("dlq.events",))
    attempts: list[int] = []

    async def flaky(event: Event) -> None:
        attempts.append(event.event_id)
        if event.event_id == 1:
            raise RuntimeError("search index unavailable")

    task = await start(bus, Consumer("search", ("workflow.events",), flaky), stop)
    poison, fine = deleted(1), deleted(2)
    await bus.publish([poison, fine])
    assert attempts == [1, 1, 1, 1, 1, 2]
    [dead] = dlq
    assert dead.key == "wf-1"
    assert dead.payload["event"] == {"topic": "workflow.events", "key": "wf-1", "payload": poison.payload}
    assert dead.payload["error"] == "RuntimeError: search index unavailable"
    assert dead.payload["service"] == "search" and dead.payload["attempts"] == 5
    stop.set()
    await task


async def test_a_user_error_is_not_retried(listen):
    bus, stop = InMemoryBus(), asyncio.Event()
    dlq = await listen(bus, "dlq-watch", ("dlq.events",))
    calls = []

    async def strict(event: Event) -> None:
        calls.append(event)
        raise UserError("an audit.log event needs a non-empty 'action'")

    task = await start(bus, Consumer("audit", ("audit.log",), strict), stop)
    await bus.publish([AUDIT])
    assert len(calls) == 1 and dlq[0].payload["attempts"] == 1
    stop.set()
    await task


async def test_a_handler_that_recovers_is_not_dead_lettered(listen):
    bus, stop = InMemoryBus(), asyncio.Event()
    dlq = await listen(bus, "dlq-watch", ("dlq.events",))
    calls = []

    async def recovers(event: Event) -> None:
        calls.append(event)
        if len(calls) < 3:
            raise ConnectionError("database restarting")

    task = await start(bus, Consumer("audit", ("audit.log",), recovers), stop)
    await bus.publish([AUDIT])
    assert len(calls) == 3 and dlq == []
    stop.set()
    await task


async def test_stopping_during_the_backoff_leaves_the_event_unconsumed(listen):
    bus, stop = InMemoryBus(), asyncio.Event()
    dlq = await listen(bus, "dlq-watch", ("dlq.events",))

    async def failing(event: Event) -> None:
        stop.set()
        raise RuntimeError("down")

    task = await start(bus, Consumer("audit", ("audit.log",), failing), stop, RetryPolicy(first_delay_s=30))
    with pytest.raises(PublishError, match="ConsumerStopping"):
        await bus.publish([AUDIT])  # not handled: the relay keeps it for later
    await asyncio.wait_for(task, 1)
    assert dlq == []


def test_backoff_doubles_up_to_a_ceiling():
    policy = RetryPolicy(first_delay_s=0.5, max_delay_s=3)
    assert [policy.delay(n) for n in range(1, 5)] == [0.5, 1, 2, 3]


def test_the_registry_names_the_services_that_consume():
    assert registry()["audit"].topics == ("audit.log",)
    assert registry()["search"].topics == ("workflow.events", "execution.events", "audit.log")
    with pytest.raises(UserError, match="no consumer for 'nosuch' yet; available: analytics, audit, "
                                        "notification-delivery, notification-rules, notifications, search"):
        get_consumer("nosuch")
    # one deployed service, its groups: `linkflow consume --service notifications` runs the three
    assert [c.service for c in service_consumers("notifications")] == [
        "notifications", "notification-rules", "notification-delivery"]
    assert [c.service for c in service_consumers("notification-rules")] == ["notification-rules"]


def test_a_consumer_of_an_unknown_topic_is_refused_when_declared():
    async def handler(event: Event) -> None: ...

    with pytest.raises(ValueError, match=r"unknown topics \['audit\.logs'\].*backend/events/topics\.py"):
        Consumer("audit", ("audit.logs",), handler)
    with pytest.raises(ValueError, match="cannot consume dlq.events"):
        Consumer("dlq", ("dlq.events",), handler)


async def test_a_batch_dead_letters_only_the_events_it_could_not_handle(listen):
    bus, stop = InMemoryBus(), asyncio.Event()
    dlq = await listen(bus, "dlq-watch", ("dlq.events",))
    batches: list[list[int]] = []

    async def bulk(events: list[Event]) -> dict[int, Exception]:
        batches.append([e.event_id for e in events])
        return {1: UserError("mapper_parsing_exception: bad date")}

    consumer = Consumer("search", ("workflow.events",), lambda e: None, bulk)
    not_ours = Event("workflow.events", "wf-1", {"type": "workflow.deleted", "event_id": 9})  # no workflow_id
    await deliver_batch(bus, consumer, [deleted(1), not_ours, deleted(2), deleted(3)], stop, NO_WAIT)
    assert batches == [[1, 2, 3]]  # the invalid one never reaches the handler
    assert [d.payload["event"]["payload"].get("event_id") for d in dlq] == [9, 2]
    assert "workflow_id" in dlq[0].payload["error"] and dlq[0].payload["attempts"] == 0
    assert dlq[1].payload["error"] == "UserError: mapper_parsing_exception: bad date"


async def test_a_batch_that_keeps_failing_is_delivered_one_event_at_a_time(listen):
    bus, stop = InMemoryBus(), asyncio.Event()
    dlq = await listen(bus, "dlq-watch", ("dlq.events",))
    singles: list[int] = []

    async def bulk(events: list[Event]) -> dict[int, Exception]:
        raise ConnectionError("index down")

    async def one(event: Event) -> None:
        singles.append(event.event_id)
        if event.event_id == 2:
            raise UserError("refused")

    consumer = Consumer("search", ("workflow.events",), one, bulk)
    await deliver_batch(bus, consumer, [deleted(1), deleted(2), deleted(3)], stop, NO_WAIT)
    assert singles == [1, 2, 3]
    assert [d.payload["event"]["payload"]["event_id"] for d in dlq] == [2]


def test_the_search_consumer_bulk_indexes_from_the_start_of_its_topics():
    search = registry()["search"]
    assert search.handle_batch is not None and search.start_at_end is False
    assert all(c.start_at_end is False for c in registry().values())  # only a process's own command group is


async def test_the_in_memory_bus_hands_a_batch_handler_what_is_queued_and_publish_waits_for_it():
    """Embedded mode: a consumer with `handle_batch` gets the events queued for its group together (one bulk
    write), and `publish` returns only once the batch was handled; a batch that keeps failing is handed over
    one event at a time, as on Kafka."""
    bus, stop = InMemoryBus(), asyncio.Event()
    batches: list[list[int]] = []
    singles: list[int] = []
    fail = asyncio.Event()

    async def bulk(events: list[Event]) -> dict[int, Exception]:
        if fail.is_set():
            raise ConnectionError("database away")
        batches.append([e.event_id for e in events])
        return {}

    async def one(event: Event) -> None:
        singles.append(event.event_id)

    task = await start(bus, Consumer("search", ("workflow.events",), one, bulk), stop,
                       RetryPolicy(attempts=2, first_delay_s=0))
    await bus.publish([deleted(i) for i in range(1, 6)])
    assert batches == [[1, 2, 3, 4, 5]] and singles == []
    await bus.publish([deleted(6)])
    assert batches[-1] == [6]
    fail.set()
    await asyncio.wait_for(bus.publish([deleted(7), deleted(8)]), 5)
    assert singles == [7, 8] and len(batches) == 2
    stop.set()
    await asyncio.wait_for(task, 5)


async def test_an_event_this_process_checked_is_not_checked_again_by_any_group(monkeypatch, listen):
    """The relay publishes `CheckedEvent`s (checked as it made them): no group of the in-memory bus checks one
    again, however many read it and however many came before it (a cache of recent ids re-checked every event
    of a relay batch past its size). A plain `Event` (what Kafka hands each group) is checked by every group, and
    an invalid one goes to the DLQ from every group that reads it."""
    from backend.events import consumers as module
    from backend.events.bus import CheckedEvent

    calls: list[int] = []
    real = module.schemas.validate
    monkeypatch.setattr(module.schemas, "validate", lambda *a: (calls.append(1), real(*a))[1])
    bus, stop = InMemoryBus(), asyncio.Event()
    dlq = await listen(bus, "dlq-watch", ("dlq.events",))
    seen: list[str] = []

    def group(name: str) -> Consumer:
        async def handle(event: Event) -> None:
            seen.append(name)
        return Consumer(name, ("workflow.events",), handle)

    tasks = [await start(bus, group(name), stop) for name in ("search", "audit", "analytics")]
    await bus.publish([CheckedEvent._make(deleted(i)) for i in range(1, 3001)])
    assert len(seen) == 9000 and calls == []
    assert type(CheckedEvent._make(deleted(1))._replace(payload={})) is Event  # a changed copy is unchecked
    await bus.publish([deleted(41)])  # not checked by this process: each group checks its own
    assert len(calls) == 3
    bad = Event("workflow.events", "wf-1", {"type": "workflow.deleted", "event_id": 42})  # no workflow_id
    await bus.publish([bad])
    assert len(dlq) == 3 and len(seen) == 9003  # each group refused it for itself
    stop.set()
    await asyncio.wait_for(asyncio.gather(*tasks), 5)
