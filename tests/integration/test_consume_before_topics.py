"""`linkflow consume` started before any other process made the topics (the order pods come up in): its
group must still get every partition the plan gives the topic, including those the worker's ensure-topics
adds after the group joined. `linkflow consume` now ensures the topics itself before it joins and refreshes
its metadata every 10 s; aiokafka alone also picked the new partitions up here (in ~7 s), so this guards the
behaviour rather than proving either change."""

from __future__ import annotations

import asyncio

import pytest
import test_kafka_events
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from test_kafka_events import audit_actions, emit_committed, eventually

from backend.audit.consumers import CONSUMER
from backend.events import kafka_admin
from backend.events.relay import relay_once
from executors.consume import _until_signalled

pytestmark = pytest.mark.integration
kafka_events, bus = test_kafka_events.kafka_events, test_kafka_events.bus


async def test_a_consumer_started_first_gets_the_partitions_added_after_it(kafka_events, kafka_bootstrap, bus):
    # what a broker's auto-creation (a producer's first send, num.partitions) or an older plan left behind
    admin = AIOKafkaAdminClient(bootstrap_servers=kafka_bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(kafka_events + "audit.log", 1, 1)])
    finally:
        await admin.close()
    stop = asyncio.Event()
    consume = asyncio.create_task(_until_signalled([CONSUMER], stop))
    try:
        await asyncio.sleep(3)  # the group has joined on whatever the topic was then
        await kafka_admin.ensure_topics()  # the worker starts: the topics as planned (audit.log: 5 partitions)
        for n in range(40):  # keys over every partition
            emit_committed("audit.log", f"team-{n}", {"action": f"workflow.update.{n}", "team_id": f"team-{n}"})
        assert await relay_once(bus) == 40
        await eventually(lambda: len(audit_actions()) == 40, timeout_s=20)
    finally:
        stop.set()
        await asyncio.wait_for(consume, 30)
