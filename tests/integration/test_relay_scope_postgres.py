"""A relay with a topic scope on PostgreSQL (backend/events/relay.py, `Scope`): an unpublished row of a topic
outside its scope never holds back a key of its own topics."""

from __future__ import annotations

import asyncio

import pytest

from backend.db import migrate
from backend.db.session import session_scope
from backend.events.bus import Event, InMemoryBus
from backend.events.outbox import emit
from backend.events.relay import Scope, relay_once

pytestmark = pytest.mark.integration


async def test_a_scoped_relay_is_not_held_back_by_a_key_of_a_topic_it_does_not_relay(postgres_url, configure):
    configure(DATABASE_URL=postgres_url)
    migrate.upgrade(postgres_url)
    with session_scope() as session:  # one execution: its cancel first, then its status event
        emit(session, "execution.commands", "exec-a", {"type": "execution.command", "command": "cancel",
                                                       "execution_id": "exec-a", "team_id": "t"})
        emit(session, "execution.events", "exec-a", {"type": "execution.queued", "execution_id": "exec-a",
                                                     "team_id": "t", "mode": "manual", "status": "queued"})
    bus, seen = InMemoryBus(), []

    async def record(event: Event) -> None:
        seen.append(event.topic)

    stop = asyncio.Event()
    listener = asyncio.create_task(bus.run_consumer("all", ("execution.commands", "execution.events"), record, stop))
    await asyncio.sleep(0)
    # The command is older and unpublished; a relay of every topic would wait for it. This one never relays it.
    assert await relay_once(bus, scope=Scope(skip=("execution.commands",))) == 1
    assert await relay_once(bus, scope=Scope(only=("execution.commands",))) == 1
    assert seen == ["execution.events", "execution.commands"]
    stop.set()
    await listener
