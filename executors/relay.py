"""The event pipeline inside a process: the outbox relay, and in embedded mode every consumer.

Embedded (`linkflow up`): the relay and every registered consumer share one bus, so audit
and the other consumers work with nothing but the process. Scaled out: every
`linkflow worker` relays the outbox to Kafka (they share the rows, see
backend/events/relay.py) and `linkflow consume --service NAME` runs one consumer group.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Literal

from backend.events.bus import EventBus, create_bus
from backend.events.consumers import registry, run_consumer
from backend.events.kafka_admin import ensure_topics
from backend.events.lag import export_group_lag
from backend.events.relay import EVERY_TOPIC, Scope, relay_loop
from backend.executions.commands import EMBEDDED_GROUP, TOPIC, command_consumer, process_group
from backend.settings import get_settings

log = logging.getLogger("linkflow.events")


@dataclass
class EventPipeline:
    bus: EventBus
    relay: asyncio.Task
    consumers: list[asyncio.Task]
    relay_stop: asyncio.Event
    consumers_stop: asyncio.Event
    services: list[str]  # the consumer groups it runs

    async def stop(self) -> None:
        # The relay first: an in-memory publish waits for the consumers to handle its batch.
        self.relay_stop.set()
        await self.relay
        self.consumers_stop.set()
        await asyncio.gather(*self.consumers)
        await self.bus.close()


Part = Literal["all", "commands", "events"]
SCOPES: dict[str, Scope] = {"all": EVERY_TOPIC, "commands": Scope(only=(TOPIC,)), "events": Scope(skip=(TOPIC,))}


async def start_event_pipeline(part: Part = "all") -> EventPipeline:
    """Start the consumers, then the relay that feeds them (embedded mode). `part`: "all" in one process; with
    the pipeline in a process of its own (LINKFLOW_EVENTS_PIPELINE=process, executors/pipeline_process.py) the
    server keeps "commands" (execution.commands and their consumer: it runs the executions) and the pipeline
    process runs "events" (every other topic and every registered consumer)."""
    await ensure_topics_at_start()
    consumers = registry() if part != "commands" else {}
    if part != "events":
        commands = command_consumer(process_group() if get_settings().events.backend == "kafka" else EMBEDDED_GROUP)
        consumers[commands.service] = commands  # this process runs executions too: it acts on their commands
    bus = create_bus(groups={c.service: c.topics for c in consumers.values()})
    consumers_stop, relay_stop = asyncio.Event(), asyncio.Event()
    tasks = [asyncio.create_task(run_consumer(bus, c, consumers_stop)) for c in consumers.values()]
    await asyncio.sleep(0)  # let the consumers subscribe before the first relay tick
    relay = asyncio.create_task(relay_loop(bus, relay_stop, scope=SCOPES[part]))
    log.info("event pipeline started", extra={"bus": get_settings().events.backend, "part": part,
                                               "consumers": sorted(consumers)})
    return EventPipeline(bus, relay, tasks, relay_stop, consumers_stop, sorted(consumers))


async def ensure_topics_at_start() -> None:
    """Create or correct the Kafka topics before relaying to them (LINKFLOW_EVENTS_ENSURE_TOPICS). A cluster
    that refuses (no admin rights, unreachable) is logged; the relay starts anyway and retries its sends."""
    settings = get_settings().events
    if settings.backend != "kafka" or not settings.ensure_topics:
        return
    try:
        reports = await ensure_topics(settings)
    except Exception:
        log.exception("could not ensure the Kafka topics; relaying to them as they are")
        return
    for report in reports:
        if report.problem:
            log.warning("kafka topic differs from the plan", extra={"topic": report.topic, "problem": report.problem})


async def run_worker_events(stop: asyncio.Event) -> None:
    """`linkflow worker` on Kafka: relay the outbox, and act on the execution.commands of the executions this
    process holds (a consumer group of its own), once the topics are as planned: a consumer that subscribed
    to a topic before it had its partitions would not be given the ones added later until its metadata
    refreshes. On the in-process bus the worker does neither: the consumers run inside `linkflow up`, and
    the worker keeps to the database path (the lease keeper sees a cancel at its next renewal)."""
    if get_settings().events.backend != "kafka":
        log.info("outbox relay and command consumer off in this worker: LINKFLOW_EVENTS_BACKEND is not kafka")
        return
    await ensure_topics_at_start()
    bus = create_bus()
    export_group_lag(process_group())
    try:
        await asyncio.gather(relay_loop(bus, stop), run_consumer(bus, command_consumer(process_group()), stop))
    finally:
        await bus.close()
