"""The in-memory bus of embedded mode: per group, in publish order, and nothing dropped."""

from __future__ import annotations

import asyncio

import pytest

from backend.events.bus import BusStopped, Event, InMemoryBus, KafkaBus, PublishError, create_bus
from backend.settings import EventsSettings


async def test_every_group_gets_its_topics_in_publish_order(listen):
    bus = InMemoryBus()
    audit = await listen(bus, "audit", ("audit.log",))
    everything = await listen(bus, "search", ("audit.log", "workflow.events"))
    events = [Event("audit.log", "t1", {"n": 1}), Event("workflow.events", "w1", {"n": 2}),
              Event("audit.log", "t1", {"n": 3})]
    await bus.publish(events)
    assert [e.payload["n"] for e in audit] == [1, 3]
    assert everything == events


async def test_publish_returns_only_after_the_handlers_finished(listen):
    bus = InMemoryBus()
    handled: list[int] = []

    async def slow(event: Event) -> None:
        await asyncio.sleep(0.05)
        handled.append(event.payload["n"])

    await listen(bus, "audit", ("audit.log",), slow)
    await bus.publish([Event("audit.log", "k", {"n": 1}), Event("audit.log", "k", {"n": 2})])
    assert handled == [1, 2]


async def test_a_declared_group_without_a_running_consumer_fails_the_delivery_instead_of_dropping_it(listen):
    bus = InMemoryBus(groups={"audit": ("audit.log",)})
    search = await listen(bus, "search", ("workflow.events",))
    with pytest.raises(PublishError) as failure:
        await bus.publish([Event("workflow.events", "w", {}), Event("audit.log", "t", {})])
    assert list(failure.value.failed) == [1]
    assert "no consumer" in str(failure.value)
    assert len(search) == 1


async def test_a_raising_handler_stops_its_consumer_and_fails_the_publish():
    bus = InMemoryBus()

    async def broken(event: Event) -> None:
        raise RuntimeError("handler bug")

    consumer = asyncio.create_task(bus.run_consumer("audit", ("audit.log",), broken, asyncio.Event()))
    await asyncio.sleep(0)
    with pytest.raises(PublishError, match="handler bug"):
        await bus.publish([Event("audit.log", "t", {})])
    with pytest.raises(RuntimeError, match="handler bug"):
        await consumer


async def test_a_handler_failing_midway_fails_that_event_and_the_rest_of_the_batch_not_the_ones_before():
    bus = InMemoryBus()
    handled: list[int] = []

    async def breaks_on_the_third(event: Event) -> None:
        if event.payload["n"] == 3:
            raise RuntimeError("handler bug")
        handled.append(event.payload["n"])

    consumer = asyncio.create_task(bus.run_consumer("audit", ("audit.log",), breaks_on_the_third, asyncio.Event()))
    await asyncio.sleep(0)
    events = [Event("audit.log" if n != 2 else "workflow.events", "t", {"n": n}) for n in range(6)]
    with pytest.raises(PublishError) as failure:
        await bus.publish(events)
    # positions in the published batch: 2 is another topic (no group here), 3 raised, 4 and 5 never ran
    assert sorted(failure.value.failed) == [3, 4, 5]
    assert isinstance(failure.value.failed[3], RuntimeError)
    assert all(isinstance(failure.value.failed[n], BusStopped) for n in (4, 5))
    assert handled == [0, 1]
    with pytest.raises(RuntimeError, match="handler bug"):
        await consumer


async def test_a_consumer_stops_when_asked():
    bus, stop = InMemoryBus(), asyncio.Event()
    consumer = asyncio.create_task(bus.run_consumer("audit", ("audit.log",), None, stop))
    await asyncio.sleep(0)
    stop.set()
    await asyncio.wait_for(consumer, 1)


def test_the_factory_follows_the_settings():
    assert isinstance(create_bus(EventsSettings()), InMemoryBus)
    kafka = create_bus(EventsSettings(backend="kafka", kafka_bootstrap="127.0.0.1:1", topic_prefix="x."))
    assert isinstance(kafka, KafkaBus)


@pytest.mark.parametrize("value", [b"[" * 5_000 + b"]" * 5_000, b'{"a": NaN}', b"not json", b"[1, 2]"])
def test_a_kafka_record_that_is_not_one_of_our_events_is_handed_on_as_undecodable(value):
    """A record nested thousands of levels deep must not crash the consumer (a RecursionError, again
    on every restart): like any record that is not ours, its handler fails and it is dead-lettered."""
    from types import SimpleNamespace

    record = SimpleNamespace(topic="lf.audit.log", key=b"team-1", value=value, offset=7)
    event = KafkaBus("127.0.0.1:9", prefix="lf.")._event(record)
    assert (event.topic, event.key) == ("audit.log", "team-1")
    assert event.payload == {"undecodable": value.decode()}
