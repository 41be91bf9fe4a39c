"""The event bus port: publish batches of events, run a consumer group until stopped.

Two adapters, chosen by `LINKFLOW_EVENTS_BACKEND` in `create_bus()`:
`InMemoryBus` (embedded mode, one process) and `KafkaBus` (scaled out, aiokafka).

Delivery is at least once on both: an event whose handler did not finish is delivered
again, and the relay may publish an outbox row twice. Handlers must be idempotent; the
relay puts the outbox id into every payload as `event_id` so they can dedupe on it.
A handler writes follow-up events with `backend.events.outbox.emit`, never `publish`.
"""

from __future__ import annotations

import asyncio
import contextvars
import json
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple, Protocol

from backend import json_limits, metrics
from backend.settings import EventsSettings, get_settings
from backend.tracing import TRACEPARENT

log = logging.getLogger("linkflow.events")


class Event(NamedTuple):
    topic: str  # the logical name from topics.py, never prefixed
    key: str  # workflow or execution id: events with one key stay in order
    payload: dict

    @property
    def event_id(self) -> int | None:
        return self.payload.get("event_id")


class CheckedEvent(Event):
    """An event this process checked against its schema as it made it (the relay, the dead-letter path): an
    in-process consumer handed this object does not check it again. Its payload must not change afterwards; a
    changed copy (`_replace`) is a plain `Event` again. Kafka hands each group an `Event` of its own.

    `schema`: the event as its schema read it, when the check kept it (the relay's, `read`). A consumer that needs
    the typed event (analytics) takes it from there instead of reading the payload a second time; it is frozen,
    and one object for every group the event is handed to."""

    schema: object = None  # an instance's own (it has a __dict__) once `read` set it

    @classmethod
    def read(cls, event: Event, schema: object) -> CheckedEvent:
        checked = cls._make(event)
        checked.schema = schema
        return checked

    def _replace(self, **changes: object) -> Event:
        return Event(*self)._replace(**changes)


Handler = Callable[[Event], Awaitable[None]]
BatchHandler = Callable[[list[Event]], Awaitable[None]]  # a whole fetch at once (bulk writers, e.g. search)


class PublishError(Exception):
    """Some events of a batch were not published; `failed` maps their index to the cause."""

    def __init__(self, failed: Mapping[int, BaseException]) -> None:
        first = next(iter(failed.values()))
        super().__init__(f"{len(failed)} event(s) not published, first: {type(first).__name__}: {first}")
        self.failed = dict(failed)


class EventBus(Protocol):
    async def publish(self, events: Sequence[Event]) -> None:
        """Publish in order; raises PublishError naming the events that were not published."""

    async def run_consumer(self, group: str, topics: Sequence[str], handler: Handler,
                           stop: asyncio.Event, *, start_at_end: bool = False,
                           batch_handler: BatchHandler | None = None) -> None:
        """Feed the group's events to `handler` one at a time until `stop` is set.

        An event counts as consumed only when the handler returned. If it raises, the
        consumer stops with that exception and the event is delivered again later.
        A new group starts at the topics' beginning, or with `start_at_end` at their end
        (only what is published from now on: a group of one process's own).
        With `batch_handler`, the bus hands it batches instead (Kafka: each fetch; in memory: what
        is queued for the group when the consumer is ready for more), and the whole batch counts
        as consumed when it returned.
        """

    async def close(self) -> None: ...


def create_bus(settings: EventsSettings | None = None, *,
               groups: Mapping[str, Sequence[str]] | None = None) -> EventBus:
    """The configured bus. `groups` (name → topics) are the consumer groups that exist even
    before their consumer runs; Kafka keeps groups itself and ignores it."""
    settings = settings or get_settings().events
    if settings.backend == "kafka":
        return KafkaBus(settings.kafka_bootstrap, settings.topic_prefix)
    return InMemoryBus(groups)


# ------------------------------------------------------------------ in-memory --

_handling_group: contextvars.ContextVar[str | None] = contextvars.ContextVar("handling_group", default=None)


class BusStopped(Exception):
    """The consumer group has no running consumer to hand the event to."""


class _Delivery(NamedTuple):
    """A group's share of one published batch: its events, their positions in the batch, and a future that
    ends with the positions that failed (``{}`` when every event was handled)."""

    events: list[Event]
    positions: list[int]
    done: asyncio.Future


@dataclass
class _Group:
    topics: set[str]
    queue: asyncio.Queue = field(default_factory=asyncio.Queue)
    running: int = 0


class InMemoryBus:
    """One queue per consumer group, handled in publish order (so in order per key).

    `publish` returns once every subscribed group has handled the events, so the relay
    marks an outbox row published only after its consumers are done with it: nothing is
    lost when the process stops. A declared group with no running consumer fails the
    delivery (the relay retries it) instead of dropping it.

    A published batch reaches each group as one queued delivery with one future, not one per event: the
    relay publishes up to 500 events at a time to several groups, and a future, a queue entry and a
    gathered wait per event and group cost ~5 µs each on the request loop of `linkflow up` (issue #18).
    """

    def __init__(self, groups: Mapping[str, Sequence[str]] | None = None) -> None:
        self._groups = {name: _Group(set(topics)) for name, topics in (groups or {}).items()}

    async def publish(self, events: Sequence[Event]) -> None:
        waiting: list[asyncio.Future] = []
        handling = _handling_group.get()
        for name, group in self._groups.items():
            positions = [index for index, event in enumerate(events) if event.topic in group.topics]
            if not positions:
                continue
            done = self._deliver(group, [events[index] for index in positions], positions)
            if name != handling:  # a handler publishing (to the DLQ) must not wait on itself
                waiting.append(done)
        failed: dict[int, BaseException] = {}
        for outcome in await asyncio.gather(*waiting, return_exceptions=True) if waiting else ():
            for index, error in outcome.items():
                failed.setdefault(index, error)
        if failed:
            raise PublishError(dict(sorted(failed.items())))

    @staticmethod
    def _deliver(group: _Group, events: list[Event], positions: list[int]) -> asyncio.Future:
        done = asyncio.get_running_loop().create_future()
        if group.running:
            group.queue.put_nowait(_Delivery(events, positions, done))
        else:
            done.set_result(dict.fromkeys(positions, BusStopped("no consumer of this group is running")))
        return done

    async def run_consumer(self, group: str, topics: Sequence[str], handler: Handler,
                           stop: asyncio.Event, *, start_at_end: bool = False,
                           batch_handler: BatchHandler | None = None) -> None:
        state = self._groups.setdefault(group, _Group(set(topics)))
        state.topics |= set(topics)
        state.running += 1
        token = _handling_group.set(group)
        try:
            while (delivery := await _next(state.queue, stop)) is not None:
                if batch_handler is not None:  # what else is queued already goes with it: one bulk write
                    await _handle_batch(state.queue, delivery, batch_handler)
                else:
                    await _handle_each(delivery, handler)
        finally:
            _handling_group.reset(token)
            state.running -= 1
            if not state.running:
                _fail_pending(state.queue)

    async def close(self) -> None:
        return None


async def _handle_batch(queue: asyncio.Queue, first: _Delivery, batch_handler: BatchHandler) -> None:
    deliveries, count = [first], len(first.events)
    while count < MAX_BATCH_RECORDS and not queue.empty():
        deliveries.append(queue.get_nowait())
        count += len(deliveries[-1].events)
    try:
        await batch_handler([event for delivery in deliveries for event in delivery.events])
    except BaseException as exc:
        for delivery in deliveries:
            _finish(delivery, dict.fromkeys(delivery.positions, exc))
        raise
    for delivery in deliveries:
        _finish(delivery, {})


async def _handle_each(delivery: _Delivery, handler: Handler) -> None:
    for handled, event in enumerate(delivery.events):
        try:
            await handler(event)
        except BaseException as exc:  # this one failed, and the consumer stops before the rest
            _finish(delivery, {delivery.positions[handled]: exc,
                               **dict.fromkeys(delivery.positions[handled + 1:], _unhandled())})
            raise
    _finish(delivery, {})


async def _next(queue: asyncio.Queue, stop: asyncio.Event):
    """The next queued item, or None once `stop` is set."""
    if stop.is_set():
        return None
    get, stopped = asyncio.ensure_future(queue.get()), asyncio.ensure_future(stop.wait())
    await asyncio.wait((get, stopped), return_when=asyncio.FIRST_COMPLETED)
    stopped.cancel()
    if get.done():
        return get.result()
    get.cancel()
    return None


def _finish(delivery: _Delivery, failed: dict[int, BaseException]) -> None:
    if not delivery.done.done():
        delivery.done.set_result(failed)


def _fail_pending(queue: asyncio.Queue) -> None:
    while not queue.empty():
        delivery = queue.get_nowait()
        _finish(delivery, dict.fromkeys(delivery.positions, _unhandled()))


def _unhandled() -> BusStopped:
    return BusStopped("the consumer stopped before handling the event")


# ---------------------------------------------------------------------- kafka --

FETCH_TIMEOUT_MS = 500
MAX_RECORDS = 100  # per fetch; a batch of poison events must finish within max.poll.interval.ms
METADATA_MAX_AGE_MS = 10_000  # a topic created or given partitions after the group joined is seen within 10 s
MAX_BATCH_RECORDS = 1000  # per fetch for a batch handler: one bulk write for the lot


class KafkaBus:
    """aiokafka: an idempotent producer (acks=all) and one consumer group per service.

    Topic and group names get `LINKFLOW_EVENTS_TOPIC_PREFIX` in front, so several
    installations (or test runs) can share one cluster. Offsets are committed by hand,
    per partition, after the handler returned for every fetched record of it.
    """

    def __init__(self, bootstrap: str, prefix: str = "") -> None:
        self._bootstrap, self._prefix = bootstrap, prefix
        self._producer = None

    async def publish(self, events: Sequence[Event]) -> None:
        producer = await self._started_producer()
        sent: list[asyncio.Future] = []
        for event in events:  # send() one by one keeps the batch's order in each partition
            try:
                payload, headers = _headers_out(event.payload)
                sent.append(await producer.send(self._prefix + event.topic, payload, key=event.key,
                                                headers=headers))
            except Exception as exc:  # e.g. a payload larger than the broker accepts
                sent.append(_failed(exc))
        results = await asyncio.gather(*sent, return_exceptions=True)
        failed = {index: r for index, r in enumerate(results) if isinstance(r, BaseException)}
        if failed:
            raise PublishError(failed)

    async def _started_producer(self):
        if self._producer is None:
            from aiokafka import AIOKafkaProducer

            producer = AIOKafkaProducer(
                bootstrap_servers=self._bootstrap, acks="all", enable_idempotence=True, linger_ms=5,
                key_serializer=str.encode, value_serializer=_encode)
            try:
                await producer.start()
            except BaseException:
                await producer.stop()
                raise
            self._producer = producer
        return self._producer

    async def run_consumer(self, group: str, topics: Sequence[str], handler: Handler,
                           stop: asyncio.Event, *, start_at_end: bool = False,
                           batch_handler: BatchHandler | None = None) -> None:
        from aiokafka import AIOKafkaConsumer

        consumer = AIOKafkaConsumer(
            *(self._prefix + topic for topic in topics), bootstrap_servers=self._bootstrap,
            group_id=self._prefix + group, enable_auto_commit=False, metadata_max_age_ms=METADATA_MAX_AGE_MS,
            auto_offset_reset="latest" if start_at_end else "earliest")
        await consumer.start()
        log.info("consumer group joined", extra={"group": self._prefix + group, "topics": list(topics)})
        try:
            while not stop.is_set():
                if batch_handler is not None:
                    await self._handle_batch(consumer, batch_handler)
                    await _report_lag(consumer, group)
                    continue
                fetched = await consumer.getmany(timeout_ms=FETCH_TIMEOUT_MS, max_records=MAX_RECORDS)
                for partition, records in fetched.items():
                    for record in records:
                        await handler(self._event(record))
                    await consumer.commit({partition: records[-1].offset + 1})
                await _report_lag(consumer, group)
        finally:
            await consumer.stop()

    async def _handle_batch(self, consumer, batch_handler: BatchHandler) -> None:
        fetched = await consumer.getmany(timeout_ms=FETCH_TIMEOUT_MS, max_records=MAX_BATCH_RECORDS)
        if fetched:
            await batch_handler([self._event(record) for records in fetched.values() for record in records])
            await consumer.commit({partition: records[-1].offset + 1 for partition, records in fetched.items()})

    def _event(self, record) -> Event:
        key = record.key.decode("utf-8", "replace") if record.key is not None else ""
        try:  # a record nested too deeply (or with NaN) is not ours either: refused before it is parsed
            payload = json_limits.loads(record.value, what="the event")
        except (TypeError, ValueError):
            payload = None
        if not isinstance(payload, dict):  # not ours: let the handler fail on it and dead-letter it
            log.warning("undecodable event", extra={"topic": record.topic, "offset": record.offset})
            payload = {"undecodable": (record.value or b"").decode("utf-8", "replace")}
        for name, value in getattr(record, "headers", None) or ():
            if name == TRACEPARENT and value:
                payload[TRACEPARENT] = value.decode("ascii", "replace")
        return Event(record.topic.removeprefix(self._prefix), key, payload)

    async def close(self) -> None:
        if self._producer is not None:
            producer, self._producer = self._producer, None
            await producer.stop()


def _headers_out(payload: dict) -> tuple[dict, list[tuple[str, bytes]] | None]:
    """The trace context leaves the payload for a record header (backend/tracing.py)."""
    if TRACEPARENT not in payload:
        return payload, None
    payload = dict(payload)
    return payload, [(TRACEPARENT, payload.pop(TRACEPARENT).encode("ascii"))]


async def _report_lag(consumer, group: str) -> None:
    """Records behind the partition's end, for every partition this consumer holds (after each fetch, so
    a group that falls behind shows it even while nothing it can handle arrives)."""
    for partition in consumer.assignment():
        highwater = consumer.highwater(partition)  # known once a fetch response for the partition came
        if highwater is not None:
            lag = highwater - await consumer.position(partition)
            metrics.consumer_lag(group, partition.topic, partition.partition, lag)


def _encode(payload: dict) -> bytes:
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()


def _failed(exc: BaseException) -> asyncio.Future:
    future = asyncio.get_running_loop().create_future()
    future.set_exception(exc)
    return future
