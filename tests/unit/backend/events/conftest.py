"""A migrated SQLite database, and consumers on an in-memory bus that record what they got."""

from __future__ import annotations

import asyncio

import pytest

from backend.db import migrate
from backend.events.bus import Event
from backend.settings import get_settings


@pytest.fixture(autouse=True)
def migrated():
    migrate.upgrade(get_settings().database_url)


@pytest.fixture
async def listen():
    """listen(bus, group, topics) starts a consumer that records events; stopped after the test."""
    stop = asyncio.Event()
    tasks: list[asyncio.Task] = []

    async def start(bus, group: str, topics: tuple[str, ...], handler=None) -> list[Event]:
        seen: list[Event] = []

        async def record(event: Event) -> None:
            seen.append(event)

        tasks.append(asyncio.create_task(bus.run_consumer(group, topics, handler or record, stop)))
        await asyncio.sleep(0)  # subscribed
        return seen

    yield start
    stop.set()
    await asyncio.gather(*tasks, return_exceptions=True)
