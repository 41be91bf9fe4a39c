"""Ids sent in one pipelined batch arrive on Redis as the messages Dramatiq sends one at a time."""

from __future__ import annotations

import json

import redis

from backend.admin.queues import EXECUTION_QUEUE, QUEUE_NAMESPACE
from backend.executions import dispatch


def test_a_batch_of_ids_is_one_dramatiq_message_each(configure, redis_url, monkeypatch):
    configure(REDIS_URL=redis_url, QUEUE_BACKEND="redis")
    from executors import actors, broker

    monkeypatch.setattr(broker, "_broker", None)
    monkeypatch.setattr(dispatch, "_batch_dispatcher", None)
    monkeypatch.setattr(dispatch, "_dispatcher", None)
    real = broker.get_broker()
    monkeypatch.setattr(actors.run_execution, "broker", real)
    ids = [f"{n:032x}" for n in range(5)]
    dispatch.dispatch_many(ids)
    assert dispatch._batch_dispatcher is actors.enqueue_many  # the pipelined one, from the entry point
    actors.enqueue("f" * 32)  # the one-at-a-time path, for comparison
    store = redis.Redis.from_url(redis_url)
    queue = f"{QUEUE_NAMESPACE}:{EXECUTION_QUEUE}"
    message_ids = [m.decode() for m in store.lrange(queue, 0, -1)]
    assert len(message_ids) == 6 and len(set(message_ids)) == 6
    bodies = [json.loads(store.hget(f"{queue}.msgs", message_id)) for message_id in message_ids]
    assert sorted(body["args"][0] for body in bodies) == sorted([*ids, "f" * 32])
    assert {(body["actor_name"], body["queue_name"]) for body in bodies} == {("run_execution", EXECUTION_QUEUE)}


def test_a_batch_sent_in_one_transaction_is_fetched_by_a_dramatiq_consumer(configure, redis_url, monkeypatch):
    """What a worker does with the batch: Dramatiq's consumer (its fetch script, its decoding) gets every message,
    each once, and acking them leaves the queue empty."""
    configure(REDIS_URL=redis_url, QUEUE_BACKEND="redis")
    from executors import actors, broker

    monkeypatch.setattr(broker, "_broker", None)
    real = broker.get_broker()
    monkeypatch.setattr(actors.run_execution, "broker", real)
    store = redis.Redis.from_url(redis_url)
    queue = f"{QUEUE_NAMESPACE}:{EXECUTION_QUEUE}"
    store.delete(queue, f"{queue}.msgs")
    ids = [f"{n:032x}" for n in range(40)]
    actors.enqueue_many(ids)
    consumer = real.consume(EXECUTION_QUEUE, prefetch=100, timeout=200)
    got = []
    try:
        for _ in range(100):
            message = next(consumer)
            if message is None:
                if len(got) == len(ids):
                    break
                continue
            got.append(message.args[0])
            assert message.actor_name == "run_execution" and message.options.get("redis_message_id")
            consumer.ack(message)
    finally:
        consumer.close()
    assert sorted(got) == ids
    assert store.llen(queue) == 0 and store.hlen(f"{queue}.msgs") == 0
