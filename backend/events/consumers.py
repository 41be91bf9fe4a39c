"""The one registry of event consumers, and how each is run: retries, then the DLQ.

A consumer is one service's handler for some topics; its service name is its consumer
group. Every event is checked against its schema first (backend/events/schemas/): one that
does not match goes to `dlq.events` at once, the reason with it. A handler that keeps failing
(5 attempts with backoff; a UserError at once) sends `{event, error, service, attempts}` to
`dlq.events` too, and the consumer moves on.
Handlers see each event at least once and must be idempotent (dedupe on `event_id`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from backend.errors import UserError
from backend.events import schemas
from backend.events.bus import CheckedEvent, Event, EventBus, Handler
from backend.events.topics import TOPICS
from backend.tracing import consumer_span, consumer_spans

log = logging.getLogger("linkflow.events.consumers")
DLQ_TOPIC = "dlq.events"
RESTART_DELAY_S = 2.0
MAX_REASON_CHARS = 4000
# Events this process sent to the DLQ, by consumer: the admin console's count with the in-process bus
# (where dlq.events has no reader); on Kafka the topic itself is counted.
DEAD_LETTERED: Counter[str] = Counter()
# `linkflow up`'s event pipeline in a process of its own (executors/pipeline_process.py): its heartbeat's
# details.service, with its DEAD_LETTERED counts, which the server's admin console adds to its own
PIPELINE_PROCESS = "event-pipeline"


# Handles a batch at once; returns {position: error} for the events it could not handle (dead-lettered).
BatchHandle = Callable[[list[Event]], Awaitable[dict[int, Exception]]]


@dataclass(frozen=True)
class Consumer:
    service: str
    topics: tuple[str, ...]
    handle: Handler
    handle_batch: BatchHandle | None = None  # each fetch (Kafka) or queued batch (in memory) at once: bulk writes
    start_at_end: bool = False  # a new group reads only what is published from now on
    # The deployed service it runs in: `linkflow consume --service notifications` runs every consumer
    # part of it too (each its own group), so one service needs one Deployment.
    part_of: str | None = None

    def __post_init__(self) -> None:
        unknown = [topic for topic in self.topics if topic not in TOPICS]
        if unknown or not self.topics:
            raise ValueError(f"consumer {self.service!r} listens to unknown topics {unknown or '(none)'}; "
                             "topics are listed in backend/events/topics.py")
        if DLQ_TOPIC in self.topics:
            raise ValueError(f"consumer {self.service!r} cannot consume {DLQ_TOPIC}: its failures go there")


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 5
    first_delay_s: float = 0.5
    max_delay_s: float = 10.0

    def delay(self, attempt: int) -> float:
        return min(self.first_delay_s * 2 ** (attempt - 1), self.max_delay_s)


class ConsumerStopping(Exception):
    """Stop was requested while a handler waited to retry; the event stays unconsumed."""


def registry() -> dict[str, Consumer]:
    """Every service that consumes events, by name (`linkflow consume --service NAME`)."""
    from backend.analytics.consumers import CONSUMER as analytics
    from backend.audit.consumers import CONSUMER as audit
    from backend.billing.consumers import billing_consumers
    from backend.notifications.consumers import CONSUMER as notifications
    from backend.notifications.consumers import DELIVERY as notification_delivery
    from backend.notifications.consumers import RULES as notification_rules
    from backend.search.consumers import CONSUMER as search

    return {consumer.service: consumer for consumer in (audit, notifications, notification_rules,
                                                        notification_delivery, analytics, search,
                                                        *billing_consumers())}


def get_consumer(service: str) -> Consumer:
    consumers = registry()
    if service not in consumers:
        raise UserError(f"no consumer for {service!r} yet; available: {', '.join(sorted(consumers))}")
    return consumers[service]


def service_consumers(service: str) -> list[Consumer]:
    """The consumer named `service` and every consumer part of it (`linkflow consume --service NAME`)."""
    first = get_consumer(service)
    return [first, *(c for c in registry().values() if c.part_of == service and c is not first)]


async def run_consumer(bus: EventBus, consumer: Consumer, stop: asyncio.Event,
                       retry: RetryPolicy = RetryPolicy()) -> None:
    """Run the consumer's group until `stop` is set, restarting it after a crash."""

    async def handler(event: Event) -> None:
        await deliver(bus, consumer, event, stop, retry)

    async def batch_handler(events: list[Event]) -> None:
        await deliver_batch(bus, consumer, events, stop, retry)

    batched = batch_handler if consumer.handle_batch is not None else None
    while not stop.is_set():
        try:
            await bus.run_consumer(consumer.service, consumer.topics, handler, stop,
                                   start_at_end=consumer.start_at_end, batch_handler=batched)
        except ConsumerStopping:
            return
        except Exception:  # e.g. the DLQ or the broker is unreachable: the event is delivered again
            log.exception("consumer crashed; restarting", extra={"service": consumer.service})
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), RESTART_DELAY_S)


async def deliver(bus: EventBus, consumer: Consumer, event: Event, stop: asyncio.Event,
                  retry: RetryPolicy) -> None:
    """Hand one event to the consumer, retrying with backoff; dead-letter it if it keeps failing."""
    try:
        event = _check(event)
    except schemas.InvalidEvent as exc:  # retrying cannot make it match: the reason goes with it
        await _dead_letter(bus, consumer, event, exc, 0)
        return
    for attempt in range(1, retry.attempts + 1):
        try:
            with consumer_span(consumer.service, event.topic, event.payload):
                await consumer.handle(event)
            return
        except UserError as exc:  # the event itself is wrong: retrying cannot help
            error = exc
            break
        except Exception as exc:
            error = exc
        if attempt < retry.attempts:
            log.warning("event handler failed; retrying", extra={
                "service": consumer.service, "topic": event.topic, "event_id": event.event_id,
                "attempt": attempt, "error": f"{type(error).__name__}: {error}"})
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), retry.delay(attempt))
            if stop.is_set():
                raise ConsumerStopping(consumer.service)
    await _dead_letter(bus, consumer, event, error, attempt)


async def deliver_batch(bus: EventBus, consumer: Consumer, events: list[Event], stop: asyncio.Event,
                        retry: RetryPolicy) -> None:
    """Hand a fetched batch to the consumer's `handle_batch`, retrying the batch with backoff. Events that do
    not match their schema, and those the handler says it cannot handle, go to the DLQ with the reason; if
    the batch keeps failing, its events are delivered one at a time so only the failing ones are dead."""
    valid: list[Event] = []
    for event in events:
        try:
            valid.append(_check(event))
        except schemas.InvalidEvent as exc:
            await _dead_letter(bus, consumer, event, exc, 0)
    if not valid:
        return
    for attempt in range(1, retry.attempts + 1):
        try:
            with consumer_spans(consumer.service, [(event.topic, event.payload) for event in valid]):
                refused = await consumer.handle_batch(valid)
            break
        except Exception as exc:
            log.warning("batch handler failed; retrying", extra={
                "service": consumer.service, "events": len(valid), "attempt": attempt,
                "error": f"{type(exc).__name__}: {exc}"})
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), retry.delay(attempt))
        if stop.is_set():
            raise ConsumerStopping(consumer.service)
    else:
        for event in valid:
            await deliver(bus, consumer, event, stop, retry)
        return
    for position, error in sorted(refused.items()):
        await _dead_letter(bus, consumer, valid[position], error, attempt)


def _check(event: Event) -> Event:
    """The event checked against its schema, unless this process made and checked it (`CheckedEvent`: what the
    relay publishes on the in-memory bus, handed as the same object to every group that reads its topic). Kafka
    deserialises an `Event` per group: each is checked, and handed on with the schema its check read
    (`CheckedEvent.schema`), which a handler that needs the typed event takes instead of reading it again."""
    if type(event) is CheckedEvent:
        return event
    return CheckedEvent.read(event, schemas.validate(event.topic, event.key, event.payload))


async def _dead_letter(bus: EventBus, consumer: Consumer, event: Event, error: Exception,
                       attempts: int) -> None:
    log.error("event sent to the dead-letter topic", exc_info=error, extra={
        "service": consumer.service, "topic": event.topic, "event_id": event.event_id, "attempts": attempts})
    await bus.publish([dead_letter(event, f"{type(error).__name__}: {error}", consumer.service, attempts)])
    DEAD_LETTERED[consumer.service] += 1


def dead_letter(event: Event, reason: str, service: str, attempts: int) -> Event:
    """The dlq.events event for `event`: the event as it came, why, and who gave up on it."""
    payload = {"event": event._asdict(), "error": reason[:MAX_REASON_CHARS], "service": service,
               "attempts": attempts}
    schemas.validate(DLQ_TOPIC, event.key, payload)
    return CheckedEvent(DLQ_TOPIC, event.key, payload)
