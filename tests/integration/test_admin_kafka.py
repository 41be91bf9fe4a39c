"""The admin console counts the dead-letter topic on a real Kafka broker."""

from __future__ import annotations

import uuid

import pytest
from aiokafka.admin import AIOKafkaAdminClient

from backend.admin.queues import dead_letters
from backend.events.bus import Event, create_bus
from backend.settings import get_settings

pytestmark = pytest.mark.integration


@pytest.fixture
async def kafka_prefix(kafka_bootstrap, configure):
    prefix = f"lftest-{uuid.uuid4().hex[:10]}."
    configure(EVENTS_BACKEND="kafka", EVENTS_KAFKA_BOOTSTRAP=kafka_bootstrap, EVENTS_TOPIC_PREFIX=prefix)
    yield prefix
    admin = AIOKafkaAdminClient(bootstrap_servers=kafka_bootstrap)
    await admin.start()
    try:
        if ours := [topic for topic in await admin.list_topics() if topic.startswith(prefix)]:
            await admin.delete_topics(ours)
    finally:
        await admin.close()


async def test_dead_letters_are_the_records_in_the_prefixed_dlq_topic(kafka_prefix):
    empty = await dead_letters(get_settings())
    assert (empty.backend, empty.topic, empty.messages, empty.error) == ("kafka", kafka_prefix + "dlq.events", 0, None)
    bus = create_bus()
    try:
        await bus.publish([Event("dlq.events", f"k{n}", {"service": "audit", "error": "boom"}) for n in range(3)])
    finally:
        await bus.close()
    counted = await dead_letters(get_settings())
    assert counted.messages == 3 and counted.error is None


async def test_an_unreachable_broker_is_reported_not_raised(configure):
    configure(EVENTS_BACKEND="kafka", EVENTS_KAFKA_BOOTSTRAP="127.0.0.1:1")
    found = await dead_letters(get_settings())
    assert found.messages == 0 and found.error
