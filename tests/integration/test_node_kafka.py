"""The Kafka node (and the kafka credential's Test) against the real broker of `infra.sh up kafka`."""

from __future__ import annotations

import json
import uuid

import pytest
from aiokafka import AIOKafkaConsumer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from nodes.builtin.kafka import Kafka
from nodes.sdk.net import AddressRefused
from nodes.sdk.testing import run_node

LOOPBACK = {"http_allow_list": ["127.0.0.1"]}


@pytest.fixture
async def topic(kafka_bootstrap):
    name = f"lf-integrations-node-{uuid.uuid4().hex[:10]}"
    admin = AIOKafkaAdminClient(bootstrap_servers=kafka_bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(name, num_partitions=2, replication_factor=1)])
        yield name
        await admin.delete_topics([name])
    finally:
        await admin.close()


def _login(bootstrap: str) -> dict:
    return {"bootstrap_servers": [bootstrap], "security_protocol": "PLAINTEXT", "client_id": "lf-test"}


async def _messages(bootstrap: str, topic: str, count: int) -> list:
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest",
                                group_id=f"lf-test-{uuid.uuid4().hex[:8]}")
    await consumer.start()
    try:
        got = []
        while len(got) < count:
            batch = await consumer.getmany(timeout_ms=5000)
            if not batch:
                break
            got += [m for records in batch.values() for m in records]
        return sorted(got, key=lambda m: (m.partition, m.offset))
    finally:
        await consumer.stop()


async def test_items_are_produced_with_keys_and_headers(kafka_bootstrap, topic):
    items = [{"json": {"order": i, "total": i * 10}} for i in range(3)]
    params = [{"topic": topic, "key": "customer-7", "headers": {"source": "linkflow"}}] * 3
    out = (await run_node(Kafka, items, params=params, credentials={"kafka": _login(kafka_bootstrap)},
                          settings=LOOPBACK))["main"]
    partitions = {o["json"]["partition"] for o in out}
    assert len(partitions) == 1  # one key, one partition: the order is kept
    assert [o["json"]["offset"] for o in out] == sorted(o["json"]["offset"] for o in out)
    received = await _messages(kafka_bootstrap, topic, 3)
    assert [json.loads(m.value) for m in received] == [i["json"] for i in items]
    assert received[0].key == b"customer-7" and received[0].headers == (("source", b"linkflow"),)


async def test_a_message_instead_of_the_item(kafka_bootstrap, topic):
    await run_node(Kafka, [{"json": {"ignored": True}}],
                   params={"topic": topic, "send_input_data": False, "message": "plain text"},
                   credentials={"kafka": _login(kafka_bootstrap)}, settings=LOOPBACK)
    (received,) = await _messages(kafka_bootstrap, topic, 1)
    assert received.value == b"plain text" and received.key is None


async def test_loopback_is_refused_without_the_allow_list(kafka_bootstrap, topic):
    with pytest.raises(AddressRefused):
        await run_node(Kafka, [{"json": {}}], params={"topic": topic},
                       credentials={"kafka": _login(kafka_bootstrap)})


async def test_the_credential_test_reports_the_brokers(kafka_bootstrap, configure):
    from backend.credentials.types.kafka import Kafka as KafkaCredential
    from backend.credentials.types.kafka import KafkaFields

    configure(HTTP_ALLOW_LIST="127.0.0.1")
    result = await KafkaCredential().test(KafkaFields(bootstrap_servers=kafka_bootstrap))
    assert result.ok and "1 broker(s)" in result.message
    refused = await KafkaCredential().test(KafkaFields(bootstrap_servers="127.0.0.1:1"))
    assert not refused.ok and "could not reach Kafka at 127.0.0.1:1" in refused.message
