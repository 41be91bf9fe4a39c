"""The outbox relay: only committed events leave, once, in order, and failures are recorded."""

from __future__ import annotations

from datetime import datetime

import pytest
from events_testkit import emit_committed
from sqlalchemy import insert, select, update

from backend.db.base import utcnow
from backend.db.session import driver_connection, session_scope
from backend.events import relay
from backend.events.bus import InMemoryBus, PublishError
from backend.events.consumers import DEAD_LETTERED
from backend.events.models import OutboxEvent
from backend.events.outbox import emit, outbox_row
from backend.events.packed import OUTCOMES, PACKED, outcome_entry, split_event_id
from backend.events.relay import relay_once


def numbered(n: int) -> tuple[str, str, dict]:
    """Event n of a mixed sequence: workflow and execution events over three keys."""
    key = f"key-{n % 3}"
    if n % 2:
        return "workflow.events", key, {"type": "workflow.deleted", "workflow_id": key, "team_id": "t"}
    return "execution.events", key, {"type": "execution.queued", "execution_id": key, "team_id": "t",
                                     "mode": "manual", "status": "queued"}


def outbox() -> list[OutboxEvent]:
    with session_scope() as session:
        return list(session.scalars(select(OutboxEvent).order_by(OutboxEvent.id)))


async def test_an_event_of_a_rolled_back_transaction_is_never_relayed(listen):
    bus = InMemoryBus()
    seen = await listen(bus, "audit", ("audit.log",))
    with pytest.raises(RuntimeError), session_scope() as session:
        emit(session, "audit.log", "team-1", {"action": "workflow.delete", "team_id": "team-1"})
        raise RuntimeError("the change failed")
    assert await relay_once(bus) == 0
    assert seen == [] and outbox() == []


async def test_a_committed_event_is_relayed_once_with_its_outbox_id(listen):
    bus = InMemoryBus()
    seen = await listen(bus, "audit", ("audit.log",))
    emit_committed("audit.log", "team-1", {"action": "workflow.create", "team_id": "team-1"})
    assert await relay_once(bus) == 1
    assert await relay_once(bus) == 0
    [row] = outbox()
    [event] = seen
    assert row.published_at is not None and row.attempts == 0
    assert (event.topic, event.key, event.event_id) == ("audit.log", "team-1", row.id)
    assert event.payload["action"] == "workflow.create"
    assert datetime.fromisoformat(event.payload["occurred_at"]) == row.created_at


async def test_events_leave_in_outbox_order_across_batches(listen):
    bus = InMemoryBus()
    seen = await listen(bus, "all", ("workflow.events", "execution.events"))
    for n in range(7):
        emit_committed(*numbered(n))
    relayed = [await relay_once(bus, batch=3) for _ in range(4)]
    assert relayed == [3, 3, 1, 0]
    assert [(e.topic, e.key, e.payload["type"]) for e in seen] == [numbered(n)[:2] + ("workflow.deleted"
                                                                   if n % 2 else "execution.queued",) for n in range(7)]
    assert [e.event_id for e in seen] == sorted(e.event_id for e in seen)


async def test_a_failed_publish_is_recorded_and_retried_later(listen):
    bus = InMemoryBus(groups={"audit": ("audit.log",)})  # declared, but its consumer is not running yet
    seen_workflows = await listen(bus, "search", ("workflow.events",))
    emit_committed("audit.log", "team-1", {"action": "credential.create", "team_id": "team-1"})
    emit_committed("workflow.events", "wf-1", {"type": "workflow.deleted", "workflow_id": "wf-1", "team_id": "t"})
    assert await relay_once(bus) == 1
    audit_row, workflow_row = outbox()
    assert audit_row.published_at is None and audit_row.attempts == 1
    assert "no consumer" in audit_row.last_error
    assert workflow_row.published_at is not None and len(seen_workflows) == 1

    seen_audit = await listen(bus, "audit", ("audit.log",))
    assert await relay_once(bus) == 1
    assert [e.payload["action"] for e in seen_audit] == ["credential.create"]
    assert outbox()[0].published_at is not None
    assert len(seen_workflows) == 1


async def test_an_unreachable_bus_leaves_every_row_unpublished():
    class DownBus(InMemoryBus):
        async def publish(self, events):
            raise ConnectionError("broker 127.0.0.1:9092 refused the connection")

    emit_committed("audit.log", "team-1", {"action": "a", "team_id": "team-1"})
    emit_committed("audit.log", "team-1", {"action": "b", "team_id": "team-1"})
    assert await relay_once(DownBus()) == 0
    assert [(r.published_at, r.attempts) for r in outbox()] == [(None, 1), (None, 1)]
    assert outbox()[0].last_error == "ConnectionError: broker 127.0.0.1:9092 refused the connection"


async def test_a_row_its_schema_refuses_goes_to_the_dlq_with_the_reason_never_to_its_topic(listen):
    """Hot paths write rows unchecked (outbox_row); the relay is the producer side's check."""
    bus = InMemoryBus()
    seen = await listen(bus, "analytics", ("analytics.events",))
    dlq = await listen(bus, "dlq-watch", ("dlq.events",))
    bad = {"type": "usage.executions", "team_id": "t", "workflow_id": "wf-1",
           "executions": [{"execution_id": "ex-1", "mode": "webhook", "status": "exploded", "secret": "s3cr3t"}]}
    good = {"type": "usage.executions", "team_id": "t", "workflow_id": "wf-1",
            "executions": [{"execution_id": "ex-2", "mode": "webhook", "status": "succeeded"}]}
    with session_scope() as session:
        session.execute(insert(OutboxEvent), [outbox_row("analytics.events", "wf-1", bad),
                                              outbox_row("analytics.events", "wf-1", good)])
    before = DEAD_LETTERED["outbox-relay"]
    assert await relay_once(bus) == 2
    assert [e.payload["executions"][0]["execution_id"] for e in seen] == ["ex-2"]  # the bad one never got there
    [dead] = dlq
    assert dead.payload["service"] == "outbox-relay" and dead.payload["attempts"] == 0
    assert dead.payload["error"].startswith("InvalidEvent: analytics.events event usage.executions v1 does not "
                                            "match its schema: executions.0.status: Input should be")
    assert "executions.0.secret: Extra inputs are not permitted" in dead.payload["error"]
    assert "s3cr3t" not in dead.payload["error"]  # the reason names fields, never values
    assert dead.payload["event"]["payload"]["executions"][0]["status"] == "exploded"  # the event as it was
    refused_row, good_row = outbox()
    assert refused_row.published_at is not None and refused_row.last_error == dead.payload["error"]
    assert good_row.published_at is not None and good_row.last_error is None
    assert DEAD_LETTERED["outbox-relay"] == before + 1
    assert await relay_once(bus) == 0


async def test_an_event_the_relay_checked_is_not_checked_again_by_the_consumers_of_its_process(monkeypatch):
    """The relay checks each row against its schema; the in-memory bus hands that same object to every group
    reading its topic, so none of them checks it again (a Kafka consumer gets its own copy and checks it)."""
    import asyncio

    from backend.events import consumers, schemas

    calls: list[str] = []
    validate = schemas.validate
    monkeypatch.setattr(schemas, "validate", lambda topic, key, payload: (calls.append(topic),
                                                                          validate(topic, key, payload))[1])
    bus, stop = InMemoryBus(), asyncio.Event()
    handled: list[tuple[str, int]] = []

    def recorder(group: str):
        async def handle(event) -> None:
            handled.append((group, event.event_id))
        return consumers.Consumer(group, ("execution.events",), handle)

    tasks = [asyncio.create_task(consumers.run_consumer(bus, recorder(group), stop)) for group in ("a", "b", "c")]
    await asyncio.sleep(0)
    emit_committed(*numbered(0))
    calls.clear()  # emit checks what it writes
    assert await relay_once(bus) == 1
    assert sorted(group for group, _ in handled) == ["a", "b", "c"]
    assert calls == ["execution.events"]  # the relay's check, and only it
    calls.clear()
    await consumers.deliver(bus, recorder("kafka-like"), consumers.Event(*numbered(2)), stop,
                            consumers.RetryPolicy())
    assert calls == ["execution.events"]  # an object the relay did not hand over is checked
    stop.set()
    await asyncio.gather(*tasks)


def outcomes_row(*entries: list) -> dict:
    return outbox_row("execution.events", entries[0][0], {"type": OUTCOMES, PACKED: 1, "executions": list(entries)})


def outcome(execution_id: str, status: str = "succeeded", error=None, traceparent=None) -> list:
    return outcome_entry(execution_id, "wf-1", "t", "webhook", status, error, traceparent)


async def test_a_packed_row_of_outcomes_is_published_as_one_event_per_run_with_ids_of_their_own(listen):
    bus = InMemoryBus()
    seen = await listen(bus, "all", ("execution.events", "audit.log"))
    parent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
    emit_committed("audit.log", "team-1", {"action": "workflow.create", "team_id": "team-1"})
    with session_scope() as session:
        session.execute(insert(OutboxEvent), [outcomes_row(
            outcome("ex-1"), outcome("ex-2", "failed", {"node": "Set", "message": "boom"}),
            outcome("ex-3", traceparent=parent))])
    assert await relay_once(bus) == 2
    plain, packed = outbox()
    assert packed.published_at is not None and packed.last_error is None
    assert [(e.key, e.payload["type"], e.payload["execution_id"], e.payload["status"]) for e in seen[1:]] == [
        ("ex-1", "execution.succeeded", "ex-1", "succeeded"), ("ex-2", "execution.failed", "ex-2", "failed"),
        ("ex-3", "execution.succeeded", "ex-3", "succeeded")]
    assert seen[2].payload["error"] == {"node": "Set", "message": "boom"}
    assert "traceparent" not in seen[1].payload and seen[3].payload["traceparent"] == parent
    ids = [e.event_id for e in seen]
    assert ids[0] == plain.id and ids[1:] == [split_event_id(packed.id, n) for n in range(3)]
    assert len(set(ids)) == 4 and all(i < 0 for i in ids[1:])  # never an outbox row's (positive) id
    assert {datetime.fromisoformat(e.payload["occurred_at"]) for e in seen[1:]} == {packed.created_at}


async def test_an_outcome_its_schema_refuses_goes_to_the_dlq_alone(listen):
    bus = InMemoryBus()
    seen = await listen(bus, "all", ("execution.events",))
    dlq = await listen(bus, "dlq-watch", ("dlq.events",))
    with session_scope() as session:
        session.execute(insert(OutboxEvent), [outcomes_row(outcome("ex-1"), outcome("ex-2", "exploded"),
                                                           outcome("ex-3"))])
    before = DEAD_LETTERED["outbox-relay"]
    assert await relay_once(bus) == 1
    assert [e.key for e in seen] == ["ex-1", "ex-3"]
    [dead] = dlq
    assert dead.payload["error"].startswith("InvalidEvent: execution.events")
    assert dead.payload["event"]["key"] == "ex-2" and dead.payload["event"]["payload"]["status"] == "exploded"
    [row] = outbox()
    assert row.published_at is not None and row.last_error == dead.payload["error"]
    assert DEAD_LETTERED["outbox-relay"] == before + 1


@pytest.mark.parametrize("executions", [[], "ex-1", [["ex-1", "wf-1"]], [outcome(f"ex-{n}") for n in range(1001)]])
async def test_a_packed_row_of_outcomes_of_the_wrong_shape_is_dead_lettered_whole(listen, executions):
    bus = InMemoryBus()
    seen = await listen(bus, "all", ("execution.events",))
    dlq = await listen(bus, "dlq-watch", ("dlq.events",))
    with session_scope() as session:
        session.execute(insert(OutboxEvent), [outbox_row("execution.events", "ex-1", {
            "type": OUTCOMES, PACKED: 1, "executions": executions})])
    assert await relay_once(bus) == 1
    assert seen == []
    [dead] = dlq
    assert dead.payload["error"].startswith("ValueError: packed execution.outcomes: executions must be a list of 1 "
                                            "to 1000 lists of 7 values (execution_id, workflow_id, team_id, mode,")
    assert dead.payload["event"]["payload"]["type"] == OUTCOMES  # the row as it was stored
    assert outbox()[0].published_at is not None


async def test_a_packed_row_the_bus_took_in_part_is_published_again_whole_with_the_same_ids(listen):
    class FlakyBus(InMemoryBus):
        refuse = True

        async def publish(self, events):
            if self.refuse:
                self.refuse = False
                await super().publish(events[:1])
                raise PublishError({1: ConnectionError("broker went away")})
            await super().publish(events)

    bus = FlakyBus()
    seen = await listen(bus, "all", ("execution.events",))
    with session_scope() as session:
        session.execute(insert(OutboxEvent), [outcomes_row(outcome("ex-1"), outcome("ex-2"))])
    assert await relay_once(bus) == 0
    [row] = outbox()
    assert (row.published_at, row.attempts) == (None, 1) and "broker went away" in row.last_error
    assert await relay_once(bus) == 1
    assert [(e.key, e.event_id) for e in seen] == [("ex-1", split_event_id(row.id, 0)),  # at least once:
                                                   ("ex-1", split_event_id(row.id, 0)),  # the same id twice
                                                   ("ex-2", split_event_id(row.id, 1))]
    assert outbox()[0].published_at is not None


async def test_the_relay_comes_back_soon_after_a_batch_and_waits_the_full_interval_when_idle(listen, monkeypatch):
    """Under load the events of a second leave in several batches (a packed batch can stand for thousands of
    events, which the in-process consumers would take in one burst); an idle relay polls every interval."""
    import asyncio

    from backend.events import relay

    results: list[int] = []

    async def counted(bus, batch=relay.BATCH, scope=relay.EVERY_TOPIC):
        results.append(await relay_once(bus, batch, scope))
        return results[-1]

    monkeypatch.setattr(relay, "relay_once", counted)
    bus, stop = InMemoryBus(), asyncio.Event()
    seen = await listen(bus, "all", ("audit.log",))

    async def until(check, timeout_s: float = 10) -> None:
        async with asyncio.timeout(timeout_s):
            while not check():
                await asyncio.sleep(0.01)

    emit_committed("audit.log", "team-1", {"action": "a", "team_id": "team-1"})
    loop = asyncio.create_task(relay.relay_loop(bus, stop, interval_s=60, busy_interval_s=0.05))
    await until(lambda: len(seen) == 1)
    emit_committed("audit.log", "team-1", {"action": "b", "team_id": "team-1"})
    await until(lambda: len(seen) == 2)  # 0.05 s after the batch before, not 60
    await until(lambda: results[-1] == 0)  # a tick found nothing: now it waits the idle interval
    ticks = len(results)
    emit_committed("audit.log", "team-1", {"action": "c", "team_id": "team-1"})
    await asyncio.sleep(0.5)
    assert len(results) == ticks and len(seen) == 2
    stop.set()
    await asyncio.wait_for(loop, 5)
    assert [e.payload["action"] for e in seen] == ["a", "b"]


def test_the_loop_reads_a_page_on_the_driver_as_sqlalchemy_reads_it():
    """On SQLite the relay reads its pages on the loop's driver connection (relay._page_on_driver): the same rows,
    payloads parsed and times aware in UTC, as the session's query, and only the unpublished ones after `after`."""
    with session_scope() as session:
        session.execute(insert(OutboxEvent), [
            outbox_row("execution.events", "k1", {"type": "execution.queued", "n": 1.5, "s": "ü\u2028", "none": None,
                                                   "list": [1, {"a": None}]}),
            outbox_row("workflow.events", "k2", {"type": "workflow.deleted"}),
            outbox_row("workflow.events", "k3", {"type": "workflow.deleted", "deep": {"x": [True, False]}})])
    with session_scope() as session:
        first = session.scalar(select(OutboxEvent.id).order_by(OutboxEvent.id))
        session.execute(update(OutboxEvent).where(OutboxEvent.id == first + 1).values(published_at=utcnow()))
    with session_scope() as session:
        expected = [relay._Row(*row) for row in session.execute(relay._CLAIM.where(OutboxEvent.id > 0).limit(50))]
        driver = driver_connection(session.get_bind())
    assert driver is not None
    assert relay._page_on_driver(driver, 0, 50) == expected and len(expected) == 2
    assert relay._page_on_driver(driver, first, 50) == expected[1:]
    assert relay._page_on_driver(driver, 0, 1) == expected[:1]
    assert expected[0].created_at.tzinfo is not None and expected[0].payload["s"] == "ü\u2028"


@pytest.mark.parametrize("reads", ["driver", "session"])
async def test_a_relay_with_a_scope_publishes_only_its_topics_and_leaves_the_others(listen, monkeypatch, reads):
    """`linkflow up` with its pipeline in a process of its own runs two relays on one SQLite file, one for
    execution.commands and one for the rest (relay.Scope): each publishes and marks only its own rows, whether it
    reads its pages on the loop's driver connection or through the session (a database with no driver)."""
    if reads == "session":
        monkeypatch.setattr(relay, "driver_connection", lambda engine: None)
    bus = InMemoryBus()
    seen = await listen(bus, "all", ("audit.log", "execution.commands", "workflow.events"))
    emit_committed("audit.log", "team-1", {"action": "workflow.create", "team_id": "team-1"})
    emit_committed("execution.commands", "e-1", {"type": "execution.command", "command": "cancel",
                                                 "execution_id": "e-1", "team_id": "team-1"})
    emit_committed("workflow.events", "w-1", {"type": "workflow.deleted", "workflow_id": "w-1", "team_id": "team-1"})
    commands, the_rest = relay.Scope(only=("execution.commands",)), relay.Scope(skip=("execution.commands",))
    assert await relay_once(bus, scope=commands) == 1
    assert [e.topic for e in seen] == ["execution.commands"]
    assert await relay_once(bus, scope=commands) == 0
    assert await relay_once(bus, scope=the_rest) == 2
    assert [e.topic for e in seen] == ["execution.commands", "audit.log", "workflow.events"]
    assert all(row.published_at is not None for row in outbox())
    assert await relay_once(bus) == 0
