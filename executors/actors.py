"""Dramatiq actors. A message carries only an execution id: the database is the truth."""

from __future__ import annotations

import os
import random
import socket
import uuid

import dramatiq
from dramatiq.common import current_millis

from backend import tracing
from backend.admin.queues import EXECUTION_QUEUE
from executors.broker import get_broker
from executors.heartbeat import processed

get_broker()  # actors bind to the broker that exists when they are declared

WORKER_ID = f"{socket.gethostname()}:{os.getpid()}"


@dramatiq.actor(queue_name=EXECUTION_QUEUE, max_retries=3, min_backoff=1000, time_limit=24 * 3600 * 1000)
def run_execution(execution_id: str) -> None:
    from backend.executions.worker_runtime import submit

    try:
        submit(execution_id, WORKER_ID)  # returns once it is under way (the database is the truth from there)
    finally:
        processed.add()


def enqueue(execution_id: str) -> None:
    run_execution.send(execution_id)


def enqueue_many(execution_ids: list[str], traces: dict[str, str] | None = None) -> None:
    """Send several ids at once: on Redis in one transaction of three commands instead of a round trip each.

    What ``RedisBroker.enqueue`` does per message (a unique Redis message id, the enqueue hooks of the
    broker's middleware) for every message, then what its dispatch script's ``enqueue`` does (the sender's
    heartbeat, each message's body into the queue's hash, its id onto the queue's list) once for all of them,
    in a MULTI/EXEC: a worker never sees an id whose body is not there yet. One script call per message cost
    the API the packing of ~13 arguments each and Redis a Lua run each: Redis's CPU per accepted webhook halved
    without them (bench/README.md, "2026-12-07 midday").
    ``traces``: each id's request ``traceparent`` (tracing on), current while its message is made.
    """
    traces = traces or {}
    from dramatiq.brokers.redis import RedisBroker

    broker = get_broker()
    if not isinstance(broker, RedisBroker) or len(execution_ids) < 2:
        for execution_id in execution_ids:
            with tracing.attached(traces.get(execution_id)):
                enqueue(execution_id)
        return
    now = current_millis()
    messages = [dramatiq.Message(queue_name=run_execution.queue_name, actor_name=run_execution.actor_name,
                                 args=(execution_id,), kwargs={}, options={"redis_message_id": _unique_id()},
                                 message_id=_unique_id(), message_timestamp=now)
                for execution_id in execution_ids]
    for message in messages:
        with tracing.attached(traces.get(message.args[0])):
            broker.emit_before("enqueue", message, None)
    _send(broker, run_execution.queue_name, messages)
    for message in messages:
        broker.emit_after("enqueue", message, None)


def _send(broker, queue_name: str, messages: list) -> None:
    """The dispatch script's ``enqueue`` (dramatiq/brokers/redis/dispatch.lua) for a batch, as one transaction."""
    queue = f"{broker.namespace}:{queue_name}"
    ids = [message.options["redis_message_id"] for message in messages]
    pipe = broker.client.pipeline(transaction=True)
    pipe.zadd(f"{broker.namespace}:__heartbeats__", {broker.broker_id: current_millis()})
    pipe.hset(f"{queue}.msgs", mapping={id_: message.encode() for id_, message in zip(ids, messages, strict=True)})
    pipe.rpush(queue, *ids)
    pipe.execute()


def _unique_id() -> str:
    """A random (version 4) UUID like Dramatiq's, without a system call each (a getrandom per id showed up
    in py-spy profiles of the intake); ids only need to be unique."""
    return str(uuid.UUID(int=_random_bits(128), version=4))


_rng = random.Random(os.urandom(32))
_random_bits = _rng.getrandbits
# A forked worker process would otherwise draw the same ids as its parent.
os.register_at_fork(after_in_child=lambda: _rng.seed(os.urandom(32)))
