"""Every topic on the real Kafka: an event of each type produced through the outbox, relayed, and
consumed by a consumer group that checks it against its schema; the topics made by ensure-topics."""

from __future__ import annotations

import asyncio
import json
import uuid

import pytest
from aiokafka.admin import AIOKafkaAdminClient

from backend.db import migrate
from backend.db.session import session_scope
from backend.events import kafka_admin, schemas
from backend.events.bus import Event, create_bus
from backend.events.consumers import Consumer, RetryPolicy, run_consumer
from backend.events.outbox import emit
from backend.events.relay import relay_once
from backend.events.topics import TOPICS

pytestmark = pytest.mark.integration
WF, EX, TEAM = "wf-1", "ex-1", "team-1"
IDS = {"execution_id": EX, "team_id": TEAM, "workflow_id": WF, "mode": "webhook"}
SAMPLES: list[tuple[str, str, dict]] = [
    ("workflow.events", WF, {"type": "workflow.activated", "workflow_id": WF, "team_id": TEAM, "version_id": "v1",
                             "version": 3}),
    ("workflow.triggers", WF, {"type": "trigger.fired", "workflow_id": WF, "team_id": TEAM, "firings": [
        {"execution_id": EX, "kind": "schedule", "node_id": "cron"}]}),
    ("execution.events", EX, {"type": "execution.failed", **IDS, "status": "failed",
                              "error": {"message": "boom", "node": "HTTP"}}),
    ("execution.commands", EX, {"type": "execution.command", "command": "cancel", "execution_id": EX,
                                "team_id": TEAM, "requested_by": "u1"}),
    ("execution.results", WF, {"type": "nodes.finished", "team_id": TEAM, "workflow_id": WF, "runs": [
        {"execution_id": EX, "mode": "webhook", "status": "succeeded", "nodes": [
            {"node_id": "a", "node_name": "A", "status": "succeeded", "duration_ms": 1.5, "items_in": 1,
             "items_out": 2}]}]}),
    ("webhook.events", WF, {"type": "webhook.answered", "workflow_id": WF, "team_id": TEAM, "requests": [
        {"node_id": "hook", "execution_id": EX, "mode": "webhook", "method": "POST", "path": "orders", "status": 200,
         "latency_ms": 3.2, "request_bytes": 20, "response_bytes": 14, "received_at": "2026-12-05T12:00:00+00:00"}]}),
    ("schedule.triggers", WF, {"type": "schedule.fired", "schedule_id": "s1", "workflow_id": WF, "team_id": TEAM,
                               "node_id": "cron", "execution_id": EX, "scheduled_at": "2026-12-05T12:00:00+00:00"}),
    ("notification.events", TEAM, {"type": "notification.requested", "team_id": TEAM, "user_id": "u1",
                                   "channel": "in_app", "kind": "execution.failed", "title": "Orders failed"}),
    ("analytics.events", WF, {"type": "usage.executions", "team_id": TEAM, "workflow_id": WF, "executions": [
        {"execution_id": EX, "mode": "webhook", "status": "succeeded", "duration_ms": 12.0, "nodes": 2, "items": 1}]}),
    ("audit.log", TEAM, {"action": "workflow.activate", "team_id": TEAM, "actor_id": "u1"}),
]


@pytest.fixture
async def kafka_events(postgres_url, kafka_bootstrap, configure):
    prefix = f"lfevery-{uuid.uuid4().hex[:10]}."
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


def test_the_samples_cover_every_topic_but_the_dead_letters():
    assert {topic for topic, _, _ in SAMPLES} == set(TOPICS) - {"dlq.events"}


async def test_every_topic_is_produced_relayed_and_consumed_under_its_schema(kafka_events):
    await kafka_admin.ensure_topics()
    for topic, key, payload in SAMPLES:
        with session_scope() as session:
            emit(session, topic, key, payload)
    bus, stop, seen = create_bus(), asyncio.Event(), []
    consumed_topics = tuple(t for t in TOPICS if t != "dlq.events")
    watch_dlq, dead = asyncio.Event(), []

    async def record(event: Event) -> None:
        seen.append(event)

    async def record_dead(event: Event) -> None:
        dead.append(event)

    consumer = asyncio.create_task(run_consumer(bus, Consumer("every", consumed_topics, record), stop,
                                                RetryPolicy(first_delay_s=0.05)))
    dlq = asyncio.create_task(bus.run_consumer("dlq-watch", ("dlq.events",), record_dead, watch_dlq))
    try:
        assert await relay_once(bus) == len(SAMPLES)
        # a record another producer wrote past the outbox: valid JSON, wrong schema
        await bus.publish([Event("execution.results", EX, {"type": "nodes.finished", "execution_id": EX})])
        async with asyncio.timeout(60):
            while len(seen) < len(SAMPLES) or not dead:
                await asyncio.sleep(0.1)
    finally:
        stop.set()
        watch_dlq.set()
        await asyncio.gather(consumer, dlq)
        await bus.close()
    assert sorted(e.topic for e in seen) == sorted(t for t, _, _ in SAMPLES)
    for event in seen:
        model = schemas.validate(event.topic, event.key, event.payload)
        assert model.event_id is not None and model.occurred_at is not None
    [poison] = dead
    assert poison.payload["service"] == "every" and poison.payload["attempts"] == 0
    assert "team_id: Field required" in poison.payload["error"]
    assert json.dumps(poison.payload["event"]["payload"]) == json.dumps({"type": "nodes.finished", "execution_id": EX})
