"""`linkflow consume --service NAME`: one service's event consumer groups on Kafka, until SIGTERM."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys

from backend import logging as lf_logging
from backend.errors import UserError
from backend.events.bus import create_bus
from backend.events.consumers import Consumer, run_consumer, service_consumers
from backend.events.lag import export_group_lag
from backend.settings import get_settings
from executors.heartbeat import heartbeat_loop
from executors.relay import ensure_topics_at_start

log = logging.getLogger("linkflow.consume")


def main(args: argparse.Namespace) -> int:
    settings = get_settings()
    try:
        consumers = service_consumers(args.service)
    except UserError as exc:
        print(f"linkflow: {exc.message}", file=sys.stderr)
        return 2
    if settings.events.backend != "kafka":
        print("linkflow: consume needs LINKFLOW_EVENTS_BACKEND=kafka; with the in-process bus "
              "`linkflow up` runs every consumer itself", file=sys.stderr)
        return 2
    lf_logging.configure(settings.log_level, settings.log_format)
    for consumer in consumers:
        log.info("consumer starting", extra={"service": consumer.service, "topics": list(consumer.topics),
                                             "bootstrap": settings.events.kafka_bootstrap,
                                             "topic_prefix": settings.events.topic_prefix})
    asyncio.run(_until_signalled(consumers))
    log.info("consumer stopped", extra={"service": args.service, "groups": [c.service for c in consumers]})
    return 0


async def _until_signalled(consumers: list[Consumer], stop: asyncio.Event | None = None) -> None:
    if stop is None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
    # A group that subscribes before its topics exist would get only what a broker's auto-creation made
    # (one default partition) until its next metadata refresh, missing the events of the partitions added.
    await ensure_topics_at_start()
    bus = create_bus()
    for consumer in consumers:
        export_group_lag(consumer.service)
    first = consumers[0]
    beat = asyncio.create_task(heartbeat_loop(
        stop, "consume", lambda: {"service": first.service, "topics": sorted({t for c in consumers for t in c.topics}),
                                  "groups": [c.service for c in consumers]}))
    try:
        await asyncio.gather(*(run_consumer(bus, consumer, stop) for consumer in consumers))
    finally:
        stop.set()
        await beat
        await bus.close()
