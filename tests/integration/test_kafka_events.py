"""Events end to end on the scaled-out path: outbox rows in PostgreSQL, relayed to a real Kafka,
consumed by the audit consumer group. Every test gets its own topic prefix (and so its own
topics and consumer groups) on the shared broker."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import uuid
from collections import defaultdict
from pathlib import Path

import pytest
from aiokafka import AIOKafkaConsumer
from aiokafka.admin import AIOKafkaAdminClient
from sqlalchemy import func, select, update

from backend.audit.consumers import CONSUMER
from backend.audit.models import AuditLog
from backend.db import migrate
from backend.db.session import session_scope
from backend.events.bus import Event, InMemoryBus, KafkaBus, create_bus
from backend.events.consumers import RetryPolicy, run_consumer
from backend.events.models import OutboxEvent
from backend.events.outbox import emit
from backend.events.relay import relay_once

pytestmark = pytest.mark.integration
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
async def kafka_events(postgres_url, kafka_bootstrap, configure):
    """Settings for PostgreSQL + Kafka with a topic prefix of this test's own; yields the prefix
    and deletes the test's topics afterwards."""
    prefix = f"lftest-{uuid.uuid4().hex[:10]}."
    configure(DATABASE_URL=postgres_url, EVENTS_BACKEND="kafka", EVENTS_KAFKA_BOOTSTRAP=kafka_bootstrap,
              EVENTS_TOPIC_PREFIX=prefix)
    migrate.upgrade(postgres_url)
    yield prefix
    admin = AIOKafkaAdminClient(bootstrap_servers=kafka_bootstrap)
    await admin.start()
    try:
        if ours := [topic for topic in await admin.list_topics() if topic.startswith(prefix)]:
            await admin.delete_topics(ours)
    finally:
        await admin.close()


@pytest.fixture
async def bus(kafka_events):
    bus = create_bus()
    assert isinstance(bus, KafkaBus)
    yield bus
    await bus.close()


@pytest.fixture
async def audit_consumer(bus):
    """The audit consumer group, running on the test's Kafka topics until the test ends."""
    stop = asyncio.Event()
    task = asyncio.create_task(run_consumer(bus, CONSUMER, stop, RetryPolicy(first_delay_s=0.05)))
    yield
    stop.set()
    await asyncio.wait_for(task, 30)


def emit_committed(topic: str, key: str, payload: dict) -> None:
    with session_scope() as session:
        emit(session, topic, key, payload)


def audit_actions() -> list[str]:
    with session_scope() as session:
        return list(session.scalars(select(AuditLog.action).order_by(AuditLog.event_id)))


async def eventually(check, timeout_s: float = 30):
    for _ in range(int(timeout_s / 0.1)):
        if result := check():
            return result
        await asyncio.sleep(0.1)
    raise AssertionError(f"not true after {timeout_s}s: {check.__name__} returned {check()!r}")


async def read_topic(bootstrap: str, topic: str, count: int, timeout_s: float = 30) -> list:
    """The first `count` records of a topic, read without a consumer group."""
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest")
    await consumer.start()
    records: list = []
    try:
        async with asyncio.timeout(timeout_s):
            while len(records) < count:
                for batch in (await consumer.getmany(timeout_ms=500)).values():
                    records.extend(batch)
    finally:
        await consumer.stop()
    return records


async def committed_offsets(bootstrap: str, group: str) -> int:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        return sum(meta.offset for meta in (await admin.list_consumer_group_offsets(group)).values())
    finally:
        await admin.close()


async def test_audit_events_go_through_kafka_into_the_audit_log_once(kafka_events, kafka_bootstrap, bus,
                                                                     audit_consumer):
    for n in range(6):
        emit_committed("audit.log", f"team-{n % 2}", {"action": f"workflow.update.{n}", "team_id": f"team-{n % 2}",
                                                      "actor_id": "u1", "object_type": "workflow",
                                                      "object_id": "wf-1"})
    with pytest.raises(RuntimeError), session_scope() as session:
        emit(session, "audit.log", "team-0", {"action": "never.committed", "team_id": "team-0"})
        raise RuntimeError("rolled back")
    assert await relay_once(bus) == 6
    expected = [f"workflow.update.{n}" for n in range(6)]
    assert await eventually(lambda: audit_actions() if len(audit_actions()) == 6 else None) == expected

    # The relay crashed after publishing but before its commit: every event goes out again.
    with session_scope() as session:
        session.execute(update(OutboxEvent).values(published_at=None))
    assert await relay_once(bus) == 6
    group = kafka_events + "audit"
    for _ in range(300):
        if await committed_offsets(kafka_bootstrap, group) == 12:
            break
        await asyncio.sleep(0.1)
    assert await committed_offsets(kafka_bootstrap, group) == 12, "the group did not consume the redelivery"
    assert audit_actions() == expected


async def test_events_are_keyed_by_their_id_so_each_id_keeps_one_partition_and_its_order(kafka_events,
                                                                                       kafka_bootstrap, bus):
    executions = [uuid.uuid4().hex for _ in range(4)]
    for n in range(20):
        key = executions[n % 4]
        emit_committed("execution.events", key, {"type": "execution.queued", "execution_id": key, "team_id": "t",
                                                 "mode": "manual", "status": "queued"})
    assert await relay_once(bus) == 20
    records = await read_topic(kafka_bootstrap, kafka_events + "execution.events", 20)
    partitions, order = defaultdict(set), defaultdict(list)
    for record in records:
        key, payload = record.key.decode(), json.loads(record.value)
        partitions[key].add(record.partition)
        order[key].append(payload["event_id"])
        assert payload["event_id"] > 0 and payload["type"] == "execution.queued"
    assert set(partitions) == set(executions)
    assert all(len(p) == 1 for p in partitions.values()), partitions
    assert all(ns == sorted(ns) and len(ns) == 5 for ns in order.values()), order


async def test_the_outcomes_of_a_webhook_group_commit_leave_as_one_record_per_run_keyed_by_it(kafka_events,
                                                                                            kafka_bootstrap, bus):
    """write_runs packs the status events of runs committed together into one outbox row; Kafka gets one
    record per run, on its execution's partition, with an event_id of its own that a redelivery keeps."""
    from backend.engine.runner import RunResult
    from backend.users.models import Team
    from backend.webhooks.persist import FinishedRun, RunDraft, dumps, ordered_id, write_runs

    with session_scope() as session:
        team = Team(name="kafka", slug=f"kafka-{uuid.uuid4().hex[:8]}")
        session.add(team)
        session.flush()
        team_id = team.id
    runs = [FinishedRun(RunDraft(id=ordered_id(), team_id=team_id, workflow_id=None, version_id=None,
                                 definition_json=dumps({"nodes": [], "connections": {}}), mode="webhook", input=[{"json": {}}]),
                        RunResult("succeeded" if n % 3 else "failed", error=None if n % 3 else {"message": "boom"}), [])
            for n in range(6)]
    write_runs(runs)
    with session_scope() as session:
        assert session.scalar(select(func.count()).select_from(OutboxEvent)
                              .where(OutboxEvent.topic == "execution.events")) == 1
    assert await relay_once(bus) >= 1
    with session_scope() as session:  # the relay crashed before its commit: the row goes out again
        session.execute(update(OutboxEvent).values(published_at=None))
    assert await relay_once(bus) >= 1
    records = await read_topic(kafka_bootstrap, kafka_events + "execution.events", 12)
    seen = defaultdict(list)  # key -> (partition, type, event_id) of each record
    for record in records:
        payload = json.loads(record.value)
        assert payload["execution_id"] == record.key.decode()
        seen[record.key.decode()].append((record.partition, payload["type"], payload["event_id"]))
    assert set(seen) == {run.draft.id for run in runs}
    assert [seen[run.draft.id][0][1] for run in runs] == ["execution.failed", "execution.succeeded",
                                                         "execution.succeeded"] * 2
    assert all(len(twice) == 2 and twice[0] == twice[1] for twice in seen.values()), seen  # the same id again
    ids = [twice[0][2] for twice in seen.values()]
    assert len(set(ids)) == 6 and all(i < 0 for i in ids)


async def test_a_poison_event_lands_in_the_dead_letter_topic_and_the_group_moves_on(kafka_events,
                                                                                    kafka_bootstrap, bus,
                                                                                    audit_consumer):
    # a record another producer wrote to audit.log past the outbox: no action
    await bus.publish([Event("audit.log", "team-1", {"team_id": "team-1", "object_id": "wf-1", "event_id": 7})])
    emit_committed("audit.log", "team-1", {"action": "workflow.delete", "team_id": "team-1"})
    assert await relay_once(bus) == 1
    assert await eventually(audit_actions) == ["workflow.delete"]
    [dead] = await read_topic(kafka_bootstrap, kafka_events + "dlq.events", 1)
    body = json.loads(dead.value)
    assert dead.key == b"team-1"
    assert body["service"] == "audit" and body["attempts"] == 0
    assert body["error"] == ("InvalidEvent: audit.log event audit.entry v1 does not match its schema: "
                             "action: Field required")
    assert body["event"]["topic"] == "audit.log" and body["event"]["payload"]["object_id"] == "wf-1"
    assert body["event"]["payload"]["event_id"] == 7


async def test_an_outbox_row_its_schema_refuses_never_reaches_its_topic(kafka_events, kafka_bootstrap, bus):
    with session_scope() as session:  # no action: `emit` refuses it, so it is written past it (a hot path's bug)
        session.add(OutboxEvent(topic="audit.log", key="team-1", payload={"team_id": "team-1", "object_id": "wf-1"}))
    emit_committed("audit.log", "team-1", {"action": "workflow.delete", "team_id": "team-1"})
    assert await relay_once(bus) == 2
    [dead] = await read_topic(kafka_bootstrap, kafka_events + "dlq.events", 1)
    body = json.loads(dead.value)
    assert body["service"] == "outbox-relay" and body["attempts"] == 0
    assert body["error"] == ("InvalidEvent: audit.log event audit.entry v1 does not match its schema: "
                             "action: Field required")
    with session_scope() as session:
        first_id = session.scalar(select(func.min(OutboxEvent.id)))
        refused = session.get(OutboxEvent, first_id)
        assert refused.published_at is not None and refused.last_error == body["error"]
    assert body["event"]["payload"]["event_id"] == first_id
    [only] = await read_topic(kafka_bootstrap, kafka_events + "audit.log", 1)
    assert json.loads(only.value)["action"] == "workflow.delete"  # the refused row never got there


async def test_a_record_nested_5000_levels_deep_is_dead_lettered_not_a_consumer_crash(kafka_events,
                                                                                      kafka_bootstrap, bus,
                                                                                      audit_consumer):
    """A RecursionError on such a record used to end the consumer, and again after every restart."""
    from aiokafka import AIOKafkaProducer

    producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap)
    await producer.start()
    try:
        await producer.send_and_wait(kafka_events + "audit.log", b"[" * 5_000 + b"]" * 5_000, key=b"team-1")
    finally:
        await producer.stop()
    emit_committed("audit.log", "team-1", {"action": "workflow.create", "team_id": "team-1"})
    assert await relay_once(bus) == 1
    assert await eventually(audit_actions) == ["workflow.create"]  # the group went on past it
    [dead] = await read_topic(kafka_bootstrap, kafka_events + "dlq.events", 1)
    assert json.loads(dead.value)["event"]["payload"]["undecodable"].startswith("[[[[")


async def test_two_relays_on_postgresql_share_the_outbox_without_reordering_a_key(kafka_events):
    for key in ("exec-a", "exec-b", "exec-a", "exec-c"):
        emit_committed("execution.events", key, {"type": "execution.queued", "execution_id": key, "team_id": "t",
                                                 "mode": "manual", "status": "queued"})
    gate, claimed = asyncio.Event(), asyncio.Event()

    class SlowBus(InMemoryBus):
        async def publish(self, events):  # reached once the relay's claim (a thread) holds its row
            claimed.set()
            await gate.wait()

    recorder, seen, stop = InMemoryBus(), [], asyncio.Event()

    async def record(event: Event) -> None:
        seen.append((event.key, event.event_id))

    listener = asyncio.create_task(recorder.run_consumer("all", ("execution.events",), record, stop))
    first_relay = asyncio.create_task(relay_once(SlowBus(), batch=1))  # claims row 1 (exec-a), then hangs
    await asyncio.wait_for(claimed.wait(), 30)
    assert await relay_once(recorder) == 2  # skips the locked row and holds back exec-a's second event
    assert [key for key, _ in seen] == ["exec-b", "exec-c"]
    gate.set()
    assert await first_relay == 1
    assert await relay_once(recorder) == 1  # exec-a's second event, now that its first is out
    with session_scope() as session:
        a1, b, a2, c = session.scalars(select(OutboxEvent.id).order_by(OutboxEvent.id))
    assert seen == [("exec-b", b), ("exec-c", c), ("exec-a", a2)]
    stop.set()
    await listener


def start_role(*args: str, postgres_url: str, kafka_bootstrap: str, prefix: str) -> subprocess.Popen:
    env = {**os.environ, "LINKFLOW_DATABASE_URL": postgres_url, "LINKFLOW_EVENTS_BACKEND": "kafka",
           "LINKFLOW_EVENTS_KAFKA_BOOTSTRAP": kafka_bootstrap, "LINKFLOW_EVENTS_TOPIC_PREFIX": prefix,
           "LINKFLOW_LOG_FORMAT": "text"}
    return subprocess.Popen([sys.executable, "-m", "backend.cli", *args], cwd=REPO, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


async def test_the_worker_role_relays_the_outbox_to_kafka(kafka_events, kafka_bootstrap, postgres_url):
    role = start_role("worker", postgres_url=postgres_url, kafka_bootstrap=kafka_bootstrap, prefix=kafka_events)
    try:
        emit_committed("workflow.events", "wf-7", {"type": "workflow.activated", "workflow_id": "wf-7",
                                                   "team_id": "t", "version_id": "v1", "version": 1})
        [record] = await read_topic(kafka_bootstrap, kafka_events + "workflow.events", 1, timeout_s=60)
    finally:
        role.send_signal(signal.SIGTERM)
        output, _ = role.communicate(timeout=30)
    assert role.returncode == 0, output
    assert record.key == b"wf-7" and json.loads(record.value)["type"] == "workflow.activated"
    with session_scope() as session:
        assert session.scalar(select(OutboxEvent.published_at)) is not None
    admin = AIOKafkaAdminClient(bootstrap_servers=kafka_bootstrap)  # the relay made the topics as planned
    await admin.start()
    try:
        described = {t["topic"]: len(t["partitions"]) for t in
                     await admin.describe_topics([kafka_events + "workflow.events", kafka_events + "execution.events"])}
    finally:
        await admin.close()
    assert described == {kafka_events + "workflow.events": 10, kafka_events + "execution.events": 20}


async def test_the_consume_role_runs_the_audit_group_until_sigterm(kafka_events, kafka_bootstrap, bus,
                                                                   postgres_url):
    role = start_role("consume", "--service", "audit", postgres_url=postgres_url,
                      kafka_bootstrap=kafka_bootstrap, prefix=kafka_events)
    try:
        emit_committed("audit.log", "team-1", {"action": "member.invite", "team_id": "team-1"})
        assert await relay_once(bus) == 1
        assert await eventually(audit_actions, timeout_s=60) == ["member.invite"]
    finally:
        role.send_signal(signal.SIGTERM)
        output, _ = role.communicate(timeout=30)
    assert role.returncode == 0, output
    assert "consumer stopped" in output
