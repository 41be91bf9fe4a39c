"""Insights: usage facts counted into rollups exactly once, read back per team, with bounded queries."""

from __future__ import annotations

import asyncio
import re
import sqlite3
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import create_engine, insert, update
from sqlalchemy.orm import Session

from backend.analytics.consumers import CONSUMER, ON_LOOP_EVENTS, ON_LOOP_RUNS, chunks
from backend.analytics.models import AnalyticsSeen, ExecutionRollup, FailureRollup, TeamRollup, TimeSaved
from backend.analytics.service import duration_bucket, percentile, record_usage_batch, record_usage_on_driver
from backend.db.base import Base
from backend.db.session import session_scope
from backend.events import schemas
from backend.events.bus import Event, InMemoryBus
from backend.events.consumers import RetryPolicy, run_consumer
from backend.events.models import OutboxEvent
from backend.events.outbox import emit
from backend.events.relay import relay_once

NOW = datetime.now(UTC)


def usage(execution_id: str, team_id: str, *, workflow_id: str | None = "wf-1", status: str = "succeeded",
          duration_ms: float | None = 40.0, mode: str = "webhook", failed_node: str | None = None) -> dict:
    """A usage.executions event with one fact."""
    return {"type": "usage.executions", "team_id": team_id, "workflow_id": workflow_id, "executions": [{
        "execution_id": execution_id, "mode": mode, "status": status, "finished_at": NOW.isoformat(),
        "duration_ms": duration_ms, "nodes": 2, "items": 1, "failed_node": failed_node}]}


def key(event: dict) -> str:
    return event["workflow_id"] or event["executions"][0]["execution_id"]


@pytest.fixture
async def analytics_bus(api):
    bus, stop = InMemoryBus(), asyncio.Event()
    task = asyncio.create_task(run_consumer(bus, CONSUMER, stop, RetryPolicy(first_delay_s=0)))
    await asyncio.sleep(0)
    yield bus
    stop.set()
    await task


def emit_usage(*facts: dict) -> None:
    with session_scope() as session:
        for fact in facts:
            emit(session, "analytics.events", key(fact), fact)


def summary(api, who, **params) -> dict:
    response = api.get("/api/v1/analytics/summary", headers=who.headers, params=params)
    assert response.status_code == 200, response.text
    return response.json()


async def test_a_redelivered_batch_counts_nothing_twice(api, api_user, analytics_bus):
    owner = api_user("owner@example.com")
    emit_usage(*(usage(f"ex-{n}", owner.team_id, duration_ms=10.0 * (n + 1)) for n in range(4)),
               usage("ex-9", owner.team_id, status="failed", failed_node="HTTP Request"))
    assert await relay_once(analytics_bus) == 5
    with session_scope() as session:  # the relay died before marking them published: all go out again
        session.execute(update(OutboxEvent).values(published_at=None))
    assert await relay_once(analytics_bus) == 5
    body = summary(api, owner)
    assert body["executions"] == 5 and body["by_status"] == {"succeeded": 4, "failed": 1}
    assert body["failure_rate"] == pytest.approx(0.2) and body["by_mode"] == {"webhook": 5}
    assert body["average_ms"] == pytest.approx((10 + 20 + 30 + 40 + 40) / 5)
    assert sum(p["executions"] for p in body["series"]) == 5 and len(body["series"]) in (7, 8)  # every day
    assert [p["executions"] for p in body["series"] if p["executions"]] == [5]
    failures = api.get("/api/v1/analytics/failures", headers=owner.headers).json()["items"]
    assert failures == [{"workflow_id": "wf-1", "workflow_name": None, "failed_node": "HTTP Request",
                         "failures": 1}]


async def test_a_batch_larger_than_a_transaction_on_the_loop_counts_each_event_once(api, api_user, analytics_bus):
    """On SQLite the consumer counts on the loop, `ON_LOOP_EVENTS` events a transaction at most: a redelivery of the
    whole batch, across those transactions, still counts nothing twice."""
    owner = api_user("owner@example.com")
    count = ON_LOOP_EVENTS * 3 + 1
    emit_usage(*(usage(f"ex-{n}", owner.team_id) for n in range(count)))
    assert await relay_once(analytics_bus) == count
    with session_scope() as session:
        session.execute(update(OutboxEvent).where(OutboxEvent.id > ON_LOOP_EVENTS).values(published_at=None))
    assert await relay_once(analytics_bus) == count - ON_LOOP_EVENTS
    assert summary(api, owner)["executions"] == count


async def test_the_consumer_counts_what_the_relay_read_without_reading_it_again(api, api_user, analytics_bus,
                                                                              monkeypatch):
    """In one process the relay hands on each usage event with the schema it read (CheckedEvent.schema): the
    consumer counts that, not a second reading of the payload. An Event from elsewhere (Kafka) is read once, by the
    consumer's check, and counted from that reading."""
    owner = api_user("owner@example.com")
    emit_usage(usage("ex-1", owner.team_id), usage("ex-2", owner.team_id, status="failed"))
    read = []
    validate = schemas.validate
    monkeypatch.setattr(schemas, "validate", lambda *args: read.append(args[0]) or validate(*args))
    assert await relay_once(analytics_bus) == 2
    assert read == ["analytics.events"] * 2  # the relay's check, once per event
    read.clear()
    await analytics_bus.publish([Event("analytics.events", "wf-1",
                                       {**usage("ex-3", owner.team_id), "event_id": 10**6})])
    assert summary(api, owner)["executions"] == 3 and summary(api, owner)["by_status"] == {"succeeded": 2,
                                                                                          "failed": 1}
    assert read.count("analytics.events") == 1  # the plain Event: read once, by the consumer's check


def test_a_transaction_on_the_loop_holds_about_on_loop_runs_executions_and_few_events():
    """Events of one run each (runs saved one at a time) share a transaction up to `ON_LOOP_EVENTS`; events of many
    runs (a group commit under load) close one once it holds `ON_LOOP_RUNS` executions. Every fact once, in order."""
    from types import SimpleNamespace

    def facts(runs: int, n: int) -> list:
        return [SimpleNamespace(executions=[None] * runs, n=i) for i in range(n)]

    ones = chunks(facts(1, ON_LOOP_EVENTS * 2 + 3))
    assert [len(chunk) for chunk in ones] == [ON_LOOP_EVENTS, ON_LOOP_EVENTS, 3]
    big = chunks(facts(ON_LOOP_RUNS // 4, 10))
    assert [len(chunk) for chunk in big] == [4, 4, 2]
    huge = chunks(facts(ON_LOOP_RUNS * 2, 3))  # an event past the limit alone is a transaction of its own
    assert [len(chunk) for chunk in huge] == [1, 1, 1]
    assert [fact.n for chunk in ones for fact in chunk] == list(range(ON_LOOP_EVENTS * 2 + 3))
    assert chunks([]) == []


async def test_percentiles_come_from_the_duration_buckets(api, api_user, analytics_bus):
    owner = api_user("owner@example.com")
    emit_usage(*(usage(f"fast-{n}", owner.team_id, duration_ms=8.0) for n in range(90)),
               *(usage(f"slow-{n}", owner.team_id, duration_ms=4_000.0) for n in range(10)),
               usage("unknown", owner.team_id, duration_ms=None))
    assert await relay_once(analytics_bus) == 101
    body = summary(api, owner, granularity="hour")
    assert (body["p50_ms"], body["p95_ms"], body["p99_ms"]) == (10.0, 5_000.0, 5_000.0)
    assert body["executions"] == 101


async def test_another_team_sees_none_of_it_even_naming_the_workflow(api, api_user, analytics_bus):
    owner, stranger = api_user("owner@example.com"), api_user("stranger@example.com")
    emit_usage(usage("ex-1", owner.team_id, workflow_id="wf-secret"))
    assert await relay_once(analytics_bus) == 1
    named = api.get("/api/v1/analytics/summary", headers=stranger.headers, params={"workflow_id": "wf-secret"})
    assert named.status_code == 404 and "executions" not in named.text
    assert api.get("/api/v1/analytics/workflows", headers=stranger.headers).json() == {"items": []}
    mine = api.get("/api/v1/analytics/workflows", headers=owner.headers).json()["items"]
    assert [(r["workflow_id"], r["executions"], r["failures"], r["p95_ms"]) for r in mine] == [
        ("wf-secret", 1, 0, 50.0)]
    spoofed = {**stranger.headers, "X-Team-Id": owner.team_id}  # not a member of that team
    assert api.get("/api/v1/analytics/summary", headers=spoofed).status_code in (403, 404)


async def test_a_usage_fact_without_an_event_id_is_dead_lettered_not_counted(api, api_user, analytics_bus):
    owner = api_user("owner@example.com")
    dlq, stop = [], asyncio.Event()

    async def record(event: Event) -> None:
        dlq.append(event)

    watcher = asyncio.create_task(analytics_bus.run_consumer("dlq-watch", ("dlq.events",), record, stop))
    await asyncio.sleep(0)
    await analytics_bus.publish([Event("analytics.events", "wf-1", usage("ex-1", owner.team_id))])
    assert "without an event_id" in dlq[0].payload["error"]
    assert summary(api, owner)["executions"] == 0
    stop.set()
    await watcher


@pytest.mark.parametrize("params, status, says", [
    ({"granularity": "hour", "since": (NOW - timedelta(days=60)).isoformat()}, 400, "at most 31 days"),
    ({"since": "2026-01-01T00:00:00"}, 400, "need a time zone"),
    ({"since": NOW.isoformat(), "until": (NOW - timedelta(days=1)).isoformat()}, 400, "must be after"),
    ({"workflow_id": "x" * 5_000}, 422, ""),
    ({"granularity": "minute"}, 422, ""),
])
def test_unreasonable_queries_are_refused_with_a_reason(api, api_user, params, status, says):
    owner = api_user("owner@example.com")
    response = api.get("/api/v1/analytics/summary", headers=owner.headers, params=params)
    assert response.status_code == status and says in response.text


def test_the_workflow_table_sort_and_limit_are_bounded(api, api_user):
    owner = api_user("owner@example.com")
    assert api.get("/api/v1/analytics/workflows", headers=owner.headers, params={"limit": 10_000}).status_code == 422
    assert api.get("/api/v1/analytics/workflows", headers=owner.headers,
                   params={"sort": "name; drop table"}).status_code == 422


def test_buckets_and_percentiles():
    assert [duration_bucket(ms) for ms in (None, 0, 10, 10.5, 9e12)] == [-1, 0, 0, 1, 14]
    assert percentile({}, 0.5) is None and percentile({-1: 3}, 0.5) is None
    assert percentile({0: 1, 3: 1}, 0.5) == 10.0 and percentile({0: 1, 3: 1}, 0.99) == 100.0


def test_the_loop_writes_on_the_driver_the_rows_sqlalchemy_writes(tmp_path):
    """`record_usage_on_driver` (the consumer on `linkflow up`'s loop) stores byte for byte what
    `record_usage_batch` stores through SQLAlchemy: rollups of both granularities, failures, time saved, a
    duration not known, and a redelivered event counted once."""
    tables = [AnalyticsSeen.__table__, ExecutionRollup.__table__, TeamRollup.__table__, FailureRollup.__table__,
              TimeSaved.__table__]

    def event(event_id: int, payload: dict):
        return schemas.validate("analytics.events", key(payload), {**payload, "event_id": event_id,
                                                                   "occurred_at": NOW.isoformat()})

    first = [event(1, usage("e1", "t1")), event(2, usage("e2", "t1", status="failed", failed_node="HTTP Request")),
             event(3, usage("e3", "t1", workflow_id=None, duration_ms=None, mode="manual")),
             event(4, usage("e4", "t2", workflow_id="wf-2", duration_ms=90_000.0))]
    again = [first[1], event(5, usage("e5", "t1", duration_ms=3.5))]
    stored = {}
    for how in ("sqlalchemy", "driver"):
        path = tmp_path / f"{how}.db"
        engine = create_engine(f"sqlite:///{path}")
        Base.metadata.create_all(engine, tables=tables)
        with engine.begin() as conn:
            conn.execute(insert(TimeSaved), [{"workflow_id": "wf-1", "team_id": "t1", "minutes_per_run": 2.5}])
        counted = []
        for batch in (first, again):
            if how == "driver":
                with sqlite3.connect(path, isolation_level=None) as driver:
                    driver.execute("BEGIN IMMEDIATE")
                    counted.append(record_usage_on_driver(driver, batch))
                    driver.execute("COMMIT")
            else:
                with Session(engine) as session, session.begin():
                    counted.append(record_usage_batch(session, batch))
        engine.dispose()
        assert counted == [4, 1]
        with sqlite3.connect(path) as db:
            stored[how] = {table.name: sorted(db.execute(f'SELECT * FROM "{table.name}"').fetchall(), key=repr)
                           for table in tables}
    seen_at = [row[1] for rows in stored.values() for row in rows.pop("analytics_seen")]
    for rows in stored.values():
        rows.pop("analytics_time_saved")  # the test's own row, stamped when it was inserted
    assert all(re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{6}", text) for text in seen_at), seen_at
    assert stored["driver"] == stored["sqlalchemy"]
    assert len(stored["driver"]["analytics_execution_rollups"]) == 8  # 4 (team, workflow, mode, status) x hour, day
    column = [c.name for c in TeamRollup.__table__.c].index("time_saved_minutes")
    saved = sum(row[column] for row in stored["driver"]["analytics_team_rollups"] if row[1] == "day")
    assert saved == pytest.approx(2.5 * 2)  # e1 and e5: succeeded webhook runs of wf-1
