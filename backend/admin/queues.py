"""Queue depth for the admin console: executions by status from the database (the truth), and,
with the Redis queue backend, what Dramatiq holds in Redis right now."""

from __future__ import annotations

import asyncio
from collections import Counter
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from backend.db.base import utcnow
from backend.db.session import session_scope
from backend.executions.heartbeats import ALIVE_WITHIN
from backend.executions.models import Execution, ExecutionStatus, WorkerHeartbeat
from backend.settings import Settings

QUEUE_NAMESPACE = "linkflow"  # Dramatiq's Redis key prefix (executors/broker.py)
EXECUTION_QUEUE = "executions"  # the queue of executors.actors.run_execution
EXECUTION_QUEUES = (EXECUTION_QUEUE,)
PENDING = (ExecutionStatus.QUEUED, ExecutionStatus.RUNNING, ExecutionStatus.WAITING)


@dataclass(frozen=True)
class RedisQueue:
    name: str
    ready: int  # messages waiting for a worker
    delayed: int  # retries waiting for their backoff
    in_redis: int  # every message Redis holds for the queue, including those being worked on
    dead_lettered: int  # gave up after Dramatiq's retries


def execution_counts(session: Session) -> dict[str, dict[str, int]]:
    """{"overall": {status: n}, "<mode>": {...}}: queued, running and waiting executions.

    Every execution goes through the one `executions` queue, so the breakdown is by how it started
    (manual, webhook, schedule, retry...)."""
    rows = session.execute(select(Execution.mode, Execution.status, func.count())
                           .where(Execution.status.in_(PENDING))
                           .group_by(Execution.mode, Execution.status))
    counts: dict[str, dict[str, int]] = {"overall": {status.value: 0 for status in PENDING}}
    for mode, status, n in rows:
        counts["overall"][status] += n
        counts.setdefault(mode, {s.value: 0 for s in PENDING})[status] += n
    return counts


def redis_queues(settings: Settings) -> list[RedisQueue] | None:
    """Dramatiq's Redis keys per execution queue; None when the queue is in-process (nothing to read)."""
    if settings.queue.backend != "redis" or not settings.redis_url:
        return None
    import redis

    client = redis.Redis.from_url(settings.redis_url, socket_connect_timeout=2, socket_timeout=2)
    try:
        return [_redis_queue(client, name) for name in EXECUTION_QUEUES]
    finally:
        client.close()


def _redis_queue(client, name: str) -> RedisQueue:
    key = f"{QUEUE_NAMESPACE}:{name}"
    pipe = client.pipeline(transaction=False)
    pipe.llen(key)
    pipe.llen(f"{key}.DQ")
    pipe.hlen(f"{key}.msgs")
    pipe.hlen(f"{key}.DQ.msgs")
    pipe.zcard(f"{key}.XQ")
    ready, delayed, msgs, delayed_msgs, dead = pipe.execute()
    return RedisQueue(name=name, ready=ready, delayed=delayed, in_redis=msgs + delayed_msgs, dead_lettered=dead)


@dataclass(frozen=True)
class DeadLetters:
    backend: str  # memory | kafka
    topic: str
    messages: int  # kafka: records kept in the topic; memory: sent by this process (and by its event pipeline
    # process, LINKFLOW_EVENTS_PIPELINE=process, as its last heartbeat said) since it started
    by_service: dict[str, int]  # memory only: which consumer gave up on them
    error: str | None = None  # Kafka could not be read


async def dead_letters(settings: Settings) -> DeadLetters:
    """How many events consumers gave up on (the `dlq.events` topic)."""
    from backend.events.consumers import DEAD_LETTERED, DLQ_TOPIC

    if settings.events.backend != "kafka":
        counts = Counter(DEAD_LETTERED)
        counts.update(await asyncio.to_thread(_pipeline_process_dead_letters))
        return DeadLetters("memory", DLQ_TOPIC, sum(counts.values()), dict(counts))
    topic = settings.events.topic_prefix + DLQ_TOPIC
    try:
        messages = await asyncio.wait_for(_kafka_topic_depth(settings.events.kafka_bootstrap, topic), 5)
    except Exception as exc:  # Kafka is away: the rest of the page still answers
        return DeadLetters("kafka", topic, 0, {}, f"{type(exc).__name__}: {exc}"[:300])
    return DeadLetters("kafka", topic, messages, {})


def _pipeline_process_dead_letters() -> Counter[str]:
    """What `linkflow up`'s event pipeline process (LINKFLOW_EVENTS_PIPELINE=process) dead-lettered since it
    started, as its last heartbeat said (every few seconds): its counts live in that process."""
    from backend.events.consumers import PIPELINE_PROCESS

    counts: Counter[str] = Counter()
    with session_scope() as session:
        for details in session.scalars(select(WorkerHeartbeat.details).where(
                WorkerHeartbeat.role == "consume", WorkerHeartbeat.last_seen_at >= utcnow() - ALIVE_WITHIN)):
            if details.get("service") == PIPELINE_PROCESS and isinstance(details.get("dead_lettered"), dict):
                counts.update({str(k): int(v) for k, v in details["dead_lettered"].items()})
    return counts


async def _kafka_topic_depth(bootstrap: str, topic: str) -> int:
    from aiokafka import AIOKafkaConsumer, TopicPartition
    from aiokafka.admin import AIOKafkaAdminClient

    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=4000)
    await admin.start()
    try:
        [described] = await admin.describe_topics([topic])
    finally:
        await admin.close()
    partitions = [TopicPartition(topic, p["partition"]) for p in described.get("partitions") or ()]
    if not partitions:
        return 0  # no such topic: nothing was ever dead-lettered
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, request_timeout_ms=4000)
    await consumer.start()
    try:
        first, end = await consumer.beginning_offsets(partitions), await consumer.end_offsets(partitions)
    finally:
        await consumer.stop()
    return sum(end[tp] - first[tp] for tp in partitions)
