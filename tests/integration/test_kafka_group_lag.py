"""Consumer lag per group on Prometheus, from a real Kafka: what the group has not consumed, even while its
consumers are down, and on the /metrics of the `linkflow consume` process that runs the group."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request

import pytest
import test_kafka_events
from prometheus_client import CollectorRegistry, generate_latest
from test_kafka_events import audit_actions, committed_offsets, emit_committed, eventually

from backend.audit.consumers import CONSUMER
from backend.events.consumers import RetryPolicy, run_consumer
from backend.events.lag import GroupLagCollector
from backend.events.relay import relay_once

pytestmark = pytest.mark.integration
kafka_events, bus = test_kafka_events.kafka_events, test_kafka_events.bus  # the fixtures: own prefix, a Kafka bus
LINE = 'linkflow_kafka_consumer_group_lag{group="audit"}'


def scraped(registry_or_url) -> float | None:
    if isinstance(registry_or_url, str):
        text = urllib.request.urlopen(registry_or_url, timeout=10).read().decode()  # noqa: S310 - loopback
    else:
        text = generate_latest(registry_or_url).decode()
    values = [float(line.rsplit(" ", 1)[1]) for line in text.splitlines() if line.startswith(LINE)]
    return values[0] if values else None


def audit(n: int) -> None:
    emit_committed("audit.log", "team-1", {"action": f"workflow.update.{n}", "team_id": "team-1"})


async def test_the_group_lag_counts_what_waits_while_the_consumer_is_down(kafka_events, kafka_bootstrap, bus):
    registry = CollectorRegistry()
    collector = GroupLagCollector(["audit"], cache_s=0)
    registry.register(collector)
    assert scraped(registry) is None  # no offsets committed yet: no figure (not a made-up 0)

    stop = asyncio.Event()
    consumer = asyncio.create_task(run_consumer(bus, CONSUMER, stop, RetryPolicy(first_delay_s=0.05)))
    audit(0)
    assert await relay_once(bus) == 1
    await eventually(lambda: len(audit_actions()) == 1)
    for _ in range(100):  # the offset is committed just after the handler returned
        if await committed_offsets(kafka_bootstrap, kafka_events + "audit") == 1:
            break
        await asyncio.sleep(0.1)
    stop.set()
    await asyncio.wait_for(consumer, 30)
    assert await committed_offsets(kafka_bootstrap, kafka_events + "audit") == 1
    assert await asyncio.to_thread(scraped, registry) == 0

    for n in range(1, 6):  # the consumer is down: these wait
        audit(n)
    assert await relay_once(bus) == 5
    assert await asyncio.to_thread(scraped, registry) == 5

    stop = asyncio.Event()
    consumer = asyncio.create_task(run_consumer(bus, CONSUMER, stop, RetryPolicy(first_delay_s=0.05)))
    try:
        await eventually(lambda: len(audit_actions()) == 6)
        for _ in range(100):
            if await asyncio.to_thread(scraped, registry) == 0:
                break
            await asyncio.sleep(0.1)
        assert await asyncio.to_thread(scraped, registry) == 0
    finally:
        stop.set()
        await asyncio.wait_for(consumer, 30)


async def test_the_consume_process_exports_its_group_lag_on_its_metrics(kafka_events, kafka_bootstrap, bus, tmp_path):
    for n in range(3):
        audit(n)
    assert await relay_once(bus) == 3
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    log = open(tmp_path / "consume.log", "ab")  # noqa: SIM115 - the child owns it
    process = subprocess.Popen([sys.executable, "-m", "backend.cli", "consume", "--service", "audit"],
                               env={**os.environ, "LINKFLOW_METRICS_PORT": str(port)}, stdout=log,
                               stderr=subprocess.STDOUT, start_new_session=True)
    try:
        await eventually(lambda: len(audit_actions()) == 3, 60)
        url = f"http://127.0.0.1:{port}/metrics"
        deadline = time.monotonic() + 30
        value = None
        while time.monotonic() < deadline:  # the scrape reads the broker at most every 10 s
            try:
                value = await asyncio.to_thread(scraped, url)
            except OSError:
                value = None
            if value == 0:
                break
            await asyncio.sleep(0.5)
        assert value == 0, (tmp_path / "consume.log").read_text()[-3000:]
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(30)
