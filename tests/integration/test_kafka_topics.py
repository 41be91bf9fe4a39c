"""`linkflow kafka ensure-topics` and `status` on the real broker: topics created or corrected to the
table's partitions and retention, consumer groups with their lag. Each test has its own topic prefix
and deletes its topics."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.structs import OffsetAndMetadata

from backend.events import kafka_admin
from backend.events.topics import TOPIC_SPECS, TOPIC_TABLE
from backend.settings import get_settings

pytestmark = pytest.mark.integration
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
async def prefixed(kafka_bootstrap, configure):
    prefix = f"lftopics-{uuid.uuid4().hex[:10]}."
    configure(EVENTS_BACKEND="kafka", EVENTS_KAFKA_BOOTSTRAP=kafka_bootstrap, EVENTS_TOPIC_PREFIX=prefix)
    admin = AIOKafkaAdminClient(bootstrap_servers=kafka_bootstrap)
    await admin.start()
    yield prefix, admin
    try:
        if ours := [topic for topic in await admin.list_topics() if topic.startswith(prefix)]:
            await admin.delete_topics(ours)
    finally:
        await admin.close()


async def layout(admin, name: str) -> tuple[int, dict[str, str]]:
    for _ in range(50):  # a new topic's metadata reaches the broker we ask a moment later
        [described] = await admin.describe_topics([name])
        if described["partitions"]:
            break
        await asyncio.sleep(0.1)
    configs = await kafka_admin._topic_configs(admin, name)
    return len(described["partitions"]), {k: v for k, (v, source) in configs.items() if source == 1}


async def test_ensure_topics_creates_every_topic_with_the_table_and_corrects_a_wrong_one(prefixed):
    prefix, admin = prefixed
    wrong = prefix + "workflow.events"  # as an auto-create or an old script left it
    await admin.create_topics([NewTopic(wrong, 2, 1, topic_configs={"retention.ms": "3600000",
                                                                     "max.message.bytes": "2000000"})])
    too_many = prefix + "dlq.events"
    await admin.create_topics([NewTopic(too_many, 8, 1)])

    reports = {r.topic: r for r in await kafka_admin.ensure_topics()}

    assert set(reports) == {prefix + t.name for t in TOPIC_TABLE}
    assert reports[wrong].actions == ["partitions 2 -> 10", "retention.ms 3600000 -> 604800000"]
    assert await layout(admin, wrong) == (10, {"retention.ms": "604800000", "max.message.bytes": "2000000"})
    assert reports[too_many].problem.startswith("has 8 partitions, more than the 5 planned")
    for name, spec in TOPIC_SPECS.items():
        if name not in ("workflow.events", "dlq.events"):
            assert reports[prefix + name].actions == ["created"]
            assert await layout(admin, prefix + name) == (spec.partitions, {"retention.ms": str(spec.retention_ms)})
    again = await kafka_admin.ensure_topics()
    assert [r.actions for r in again] == [[]] * len(TOPIC_TABLE)  # nothing left to correct


def cli(*args: str, prefix: str, bootstrap: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "LINKFLOW_EVENTS_BACKEND": "kafka", "LINKFLOW_EVENTS_KAFKA_BOOTSTRAP": bootstrap,
           "LINKFLOW_EVENTS_TOPIC_PREFIX": prefix, "LINKFLOW_LOG_FORMAT": "text"}
    return subprocess.run([sys.executable, "-m", "backend.cli", "kafka", *args], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=120)


async def test_status_shows_topics_groups_and_lag(prefixed, kafka_bootstrap):
    prefix, admin = prefixed
    assert cli("ensure-topics", prefix=prefix, bootstrap=kafka_bootstrap).returncode == 0
    topic = prefix + "audit.log"
    producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap)
    await producer.start()
    try:
        for _ in range(7):
            await producer.send_and_wait(topic, b"{}", partition=0)
    finally:
        await producer.stop()
    group = AIOKafkaConsumer(bootstrap_servers=kafka_bootstrap, group_id=prefix + "audit", enable_auto_commit=False)
    await group.start()
    try:
        group.assign([TopicPartition(topic, 0)])
        await group.commit({TopicPartition(topic, 0): OffsetAndMetadata(3, "")})  # 3 of 7 consumed
    finally:
        await group.stop()

    done = cli("status", prefix=prefix, bootstrap=kafka_bootstrap)
    assert done.returncode == 0, done.stderr
    lines = [json.loads(line) for line in done.stdout.splitlines()]
    topics = {line["topic"]["topic"]: line["topic"] for line in lines if "topic" in line}
    assert topics[topic]["partitions"] == 5 and topics[topic]["retention_ms"] == 30 * 86_400_000
    assert all(t["problem"] is None for t in topics.values())
    [audit] = [line["group"] for line in lines if "group" in line]
    assert audit == {"group": "audit", "lag": 4, "partitions": {"audit.log[0]": 4}}


async def test_status_names_a_missing_topic_and_fails(prefixed, kafka_bootstrap):
    prefix, _ = prefixed
    done = cli("status", prefix=prefix, bootstrap=kafka_bootstrap)
    assert done.returncode == 1
    first = json.loads(done.stdout.splitlines()[0])["topic"]
    assert first == {"topic": prefix + "workflow.events", "partitions": 0, "retention_ms": None, "actions": [],
                     "problem": "missing: run `linkflow kafka ensure-topics`"}
    assert get_settings().events.topic_prefix == prefix
