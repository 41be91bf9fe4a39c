"""Event schemas: every topic has them, producers cannot write a wrong event, and a wrong event that
arrives anyway is dead-lettered with the reason (never its values) while the consumer goes on."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import ClassVar, Literal

import pytest
import yaml
from events_testkit import emit_committed
from sqlalchemy import select

from backend.db.session import session_scope
from backend.events import schemas
from backend.events.bus import Event, InMemoryBus
from backend.events.consumers import Consumer, RetryPolicy, run_consumer
from backend.events.models import OutboxEvent
from backend.events.outbox import emit
from backend.events.relay import relay_once
from backend.events.schemas.base import EventSchema
from backend.events.schemas.docs import BEGIN, END, markdown
from backend.events.topics import TOPIC_SPECS, TOPICS

REPO = Path(__file__).resolve().parents[4]
QUEUED = {"type": "execution.queued", "execution_id": "ex-1", "team_id": "team-1", "mode": "webhook",
          "status": "queued"}


def test_every_topic_has_at_least_one_event_schema():
    assert {topic for topic, _, _ in schemas.REGISTRY} == set(TOPICS)


def test_the_readme_shows_the_generated_events_table():
    readme = (REPO / "README.md").read_text()
    assert readme[readme.index(BEGIN):readme.index(END) + len(END)] == markdown(), \
        "regenerate README's events section from backend/events/schemas/docs.py"


def test_the_strimzi_topics_have_the_partitions_and_retention_of_the_table():
    declared = {doc["spec"]["topicName"]: doc["spec"] for doc in
                yaml.safe_load_all((REPO / "deploy/kafka/topics.yaml").read_text()) if doc}
    assert {name: (spec["partitions"], spec["config"]["retention.ms"]) for name, spec in declared.items()} == \
        {name: (t.partitions, t.retention_ms) for name, t in TOPIC_SPECS.items()}


def test_a_producer_cannot_write_an_event_its_schema_refuses():
    with pytest.raises(schemas.InvalidEvent, match="mode: Input should be"), session_scope() as session:
        emit(session, "execution.events", "ex-1", {**QUEUED, "mode": "carrier pigeon"})
    with pytest.raises(schemas.InvalidEvent, match="no event type 'execution.exploded'"), \
            session_scope() as session:
        emit(session, "execution.events", "ex-1", {**QUEUED, "type": "execution.exploded"})
    with pytest.raises(schemas.InvalidEvent, match="requests.0.body: Extra inputs are not permitted"), \
            session_scope() as session:  # a webhook event carries sizes, never bodies
        emit(session, "webhook.events", "wf-1", {"type": "webhook.answered", "workflow_id": "wf-1", "team_id": "t",
                                                 "requests": [{
            "node_id": "n", "mode": "webhook", "method": "POST", "path": "p", "status": 200, "latency_ms": 1.0,
            "request_bytes": 2, "response_bytes": 2, "received_at": "2026-12-05T12:00:00+00:00", "body": "secret=1"}]})
    with session_scope() as session:
        assert session.scalars(select(OutboxEvent)).all() == []


def test_the_key_is_the_entity_the_schema_names_so_its_events_stay_in_order():
    with pytest.raises(schemas.InvalidEvent, match="its key is its execution_id 'ex-1'"), \
            session_scope() as session:
        emit(session, "execution.events", "team-1", QUEUED)
    emit_committed("execution.events", "ex-1", QUEUED)


def test_huge_free_form_parts_are_refused_without_quoting_them():
    secret = "s3cr3t" * 5_000
    with pytest.raises(schemas.InvalidEvent) as refused:
        schemas.validate("audit.log", "team-1", {"action": "x", "team_id": "team-1", "details": {"v": secret}})
    assert "details: Value error, is 30009 bytes serialised; at most 16384" in str(refused.value)
    assert "s3cr3t" not in str(refused.value)
    with pytest.raises(schemas.InvalidEvent, match="execution_id: String should have at most 100"):
        schemas.validate("execution.events", "x" * 101, {**QUEUED, "execution_id": "x" * 101})


def test_an_unknown_schema_version_is_refused_and_a_new_version_is_a_new_model():
    with pytest.raises(schemas.InvalidEvent, match="version 2; known: .*execution.queued v1"):
        schemas.validate("execution.events", "ex-1", {**QUEUED, "schema_version": 2})

    class QueuedV2(EventSchema):
        topic: ClassVar[str] = "execution.commands"
        event_type: ClassVar[str] = "test.only"
        VERSION: ClassVar[int] = 2
        key_field: ClassVar[str] = "execution_id"
        type: Literal["test.only"]
        execution_id: str

    try:
        event = schemas.validate("execution.commands", "e", {"type": "test.only", "execution_id": "e",
                                                            "schema_version": 2})
        assert isinstance(event, QueuedV2)
    finally:
        del schemas.REGISTRY[("execution.commands", "test.only", 2)]


def test_a_schema_is_checked_when_it_is_declared():
    with pytest.raises(TypeError, match="repeats .*execution.queued"):
        type("Again", (schemas.REGISTRY[("execution.events", "execution.queued", 1)],), {"__module__": __name__})
    with pytest.raises(TypeError, match="unknown topic 'executions'"):
        class Wrong(EventSchema):
            topic: ClassVar[str] = "executions"
            event_type: ClassVar[str] = "x"
            key_field: ClassVar[str] = "id"
    with pytest.raises(TypeError, match="key field 'workflow_id' is not one of its fields"):
        class NoKey(EventSchema):
            topic: ClassVar[str] = "workflow.events"
            event_type: ClassVar[str] = "test.no_key"
            key_field: ClassVar[str] = "workflow_id"
    schemas.REGISTRY.pop(("workflow.events", "test.no_key", 1), None)


@pytest.mark.parametrize("payload, reason", [
    ({"type": "execution.queued", "execution_id": "ex-1"}, "team_id: Field required"),
    ({**QUEUED, "error": {"trace": "x" * 20_000}}, "error: Value error, is 20013 bytes"),
    ({**QUEUED, "team_id": ["other-team"]}, "team_id: Input should be a valid string"),
    ({"undecodable": "[[[["}, "has no event type None"),
])
async def test_a_wrong_event_from_the_bus_is_dead_lettered_with_the_reason_and_the_consumer_goes_on(
        listen, payload, reason):
    bus, stop = InMemoryBus(), asyncio.Event()
    dlq = await listen(bus, "dlq-watch", ("dlq.events",))
    handled: list[Event] = []

    async def handle(event: Event) -> None:
        handled.append(event)

    task = asyncio.create_task(run_consumer(bus, Consumer("billing", ("execution.events",), handle), stop,
                                            RetryPolicy(first_delay_s=0)))
    await asyncio.sleep(0)
    await bus.publish([Event("execution.events", "ex-1", payload), Event("execution.events", "ex-1", QUEUED)])
    assert [e.payload for e in handled] == [QUEUED]
    [dead] = dlq
    assert dead.payload["attempts"] == 0 and dead.payload["service"] == "billing"
    assert dead.payload["error"].startswith("InvalidEvent: ") and reason in dead.payload["error"]
    assert "other-team" not in dead.payload["error"]
    stop.set()
    await task


async def test_the_relay_carries_the_envelope_the_schemas_accept(listen):
    bus = InMemoryBus()
    seen = await listen(bus, "all", ("execution.events",))
    emit_committed("execution.events", "ex-1", QUEUED)
    assert await relay_once(bus) == 1
    [event] = seen
    assert schemas.validate(event.topic, event.key, event.payload).event_id == event.event_id
