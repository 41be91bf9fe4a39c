"""The analytics consumer group on the real Kafka and PostgreSQL: usage facts counted once, even when
the relay sends the whole batch again."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime

import pytest
from aiokafka.admin import AIOKafkaAdminClient
from sqlalchemy import func, select, update

from backend.analytics.consumers import CONSUMER
from backend.analytics.models import AnalyticsSeen, ExecutionRollup
from backend.db import migrate
from backend.db.session import session_scope
from backend.events import kafka_admin
from backend.events.bus import create_bus
from backend.events.consumers import RetryPolicy, run_consumer
from backend.events.models import OutboxEvent
from backend.events.outbox import emit
from backend.events.relay import relay_once

pytestmark = pytest.mark.integration


@pytest.fixture
async def kafka_events(postgres_url, kafka_bootstrap, configure):
    prefix = f"lfanalytics-{uuid.uuid4().hex[:10]}."
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


async def committed(bootstrap: str, group: str) -> int:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        return sum(meta.offset for meta in (await admin.list_consumer_group_offsets(group)).values())
    finally:
        await admin.close()


def counted() -> tuple[int, int]:
    with session_scope() as session:
        day = session.scalar(select(func.sum(ExecutionRollup.executions)).where(ExecutionRollup.granularity == "day"))
        return day or 0, session.scalar(select(func.count()).select_from(AnalyticsSeen)) or 0


async def until(check, timeout_s: float = 60) -> None:
    async with asyncio.timeout(timeout_s):
        while not await check():
            await asyncio.sleep(0.1)


async def test_a_redelivered_batch_counts_nothing_twice(kafka_events, kafka_bootstrap):
    finished = datetime.now(UTC).isoformat()
    with session_scope() as session:
        for n in range(12):
            emit(session, "analytics.events", f"wf-{n % 3}", {
                "type": "usage.executions", "team_id": "team-1", "workflow_id": f"wf-{n % 3}", "executions": [{
                    "execution_id": f"ex-{n}", "mode": "schedule", "status": "failed" if n % 4 == 0 else "succeeded",
                    "finished_at": finished, "duration_ms": 15.0 * n, "nodes": 3, "items": 1}]})
    await kafka_admin.ensure_topics()  # as the relay does when it starts
    bus, stop = create_bus(), asyncio.Event()
    consumer = asyncio.create_task(run_consumer(bus, CONSUMER, stop, RetryPolicy(first_delay_s=0.05)))
    group = kafka_events + "analytics"
    try:
        assert await relay_once(bus) == 12

        async def all_counted() -> bool:
            return counted() == (12, 12)

        await until(all_counted)
        with session_scope() as session:  # the relay crashed after publishing, before its commit
            session.execute(update(OutboxEvent).values(published_at=None))
        assert await relay_once(bus) == 12

        async def redelivery_consumed() -> bool:
            return await committed(kafka_bootstrap, group) == 24

        await until(redelivery_consumed)
        assert counted() == (12, 12)
    finally:
        stop.set()
        await asyncio.wait_for(consumer, 30)
        await bus.close()
