"""Events are written to the outbox in the caller's transaction, then relayed to the bus.

Every event is checked against its schema (backend/events/schemas/) before it reaches the bus: by the
relay, which dead-letters one that does not match instead of publishing it (backend/events/relay.py).
`emit`, for changes made one at a time, also checks it at once, so a producer's bug fails its own
transaction. The hot paths (webhook group commits, node results and usage facts, the deferred per-loop
batches) write plain dicts with `outbox_row` and leave the check to the relay, off the request path; on the
in-process bus they write nothing for a topic no consumer reads (`nobody_reads`).
"""

from __future__ import annotations

import functools

from sqlalchemy import Connection, insert
from sqlalchemy.orm import Session

from backend.events import schemas
from backend.events.models import OutboxEvent
from backend.events.topics import TOPICS
from backend.settings import get_settings
from backend.tracing import TRACEPARENT, traceparent

_INSERT = insert(OutboxEvent)


def emit(session: Session | Connection, topic: str, key: str, payload: dict) -> None:
    # A Core insert: works on a Session or a bare Connection, in the caller's transaction. The statement
    # is built once; per call only the parameters change (no statement construction or cache key).
    session.execute(_INSERT, checked_row(topic, key, payload))


def checked_row(topic: str, key: str, payload: dict) -> dict:
    """The values of one outbox row, checked as ``emit`` checks them, for a caller that inserts several at once."""
    if topic not in TOPICS:
        raise ValueError(f"unknown event topic {topic!r}; topics are listed in backend/events/topics.py")
    schemas.validate(topic, key, payload)  # InvalidEvent (a ValueError): a bug in the producer, never stored
    parent = traceparent()  # None unless tracing is on: the consumers' spans join the trace of the change
    if parent is not None:
        payload = {**payload, TRACEPARENT: parent}
    return {"topic": topic, "key": key, "payload": payload}


def outbox_row(topic: str, key: str, payload: dict) -> dict:
    """The values of one outbox row for a Core bulk insert (the hot paths). Not checked here: the relay
    checks it against its schema before publishing and dead-letters it if it does not match."""
    return {"topic": topic, "key": key, "payload": payload}


def nobody_reads(topic: str) -> bool:
    """Whether no consumer would ever get an event on `topic`: the bus is in process (LINKFLOW_EVENTS_BACKEND=memory,
    `linkflow up`) and none of LinkFlow's consumers reads the topic (execution.results, webhook.events,
    workflow.triggers). The hot paths then write no outbox row for it: the relay would read, check and publish it
    to nobody. On Kafka every topic is written, as the ops guide lists them: consumers outside LinkFlow may read
    any."""
    return get_settings().events.backend == "memory" and topic not in _read_topics()


@functools.cache
def _read_topics() -> frozenset[str]:
    """Every topic a consumer of the in-process pipeline reads (executors/relay.py: the registry's consumers and
    the execution commands)."""
    from backend.events.consumers import registry
    from backend.executions.commands import TOPIC as COMMANDS

    return frozenset({COMMANDS}.union(*(consumer.topics for consumer in registry().values())))
