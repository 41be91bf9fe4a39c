"""The `search` consumer group: keeps Elasticsearch in step with workflow, execution and audit events.

On Kafka each fetch (up to 1,000 events) becomes one bulk request (`handle_batch`); elsewhere events come
one at a time. With the SQL backend (the default) there is nothing to index: search reads the database.
A document Elasticsearch refuses (e.g. a mapping conflict) sends its event to dlq.events with the reason;
Elasticsearch being away is retried with backoff by the consumer runner.
"""

from __future__ import annotations

import asyncio
import zlib

from backend.errors import UserError
from backend.events.bus import Event
from backend.events.consumers import Consumer
from backend.search.elastic import get_index
from backend.search.indexer import TOPICS, index_events
from backend.settings import get_settings


class DocumentRefused(UserError):
    """Elasticsearch refused the document for good: retrying the same event cannot help."""


LANES = 3  # a fetch is written as this many bulk requests at once: one waits on Elasticsearch while the next
# reads the database. Events are split by key, so one entity's events stay in one lane, in order.


async def handle_batch(events: list[Event]) -> dict[int, Exception]:
    settings = get_settings().search
    if settings.backend != "elasticsearch":
        return {}
    lanes: list[list[int]] = [[] for _ in range(min(LANES, max(1, len(events) // 200)))]
    for position, event in enumerate(events):
        lanes[zlib.crc32(event.key.encode()) % len(lanes)].append(position)
    index = get_index()
    answers = await asyncio.gather(*(
        asyncio.to_thread(index_events, index, [events[p] for p in lane], settings.max_field_chars)
        for lane in lanes if lane))
    refused: dict[int, Exception] = {}
    for lane, answer in zip([lane for lane in lanes if lane], answers, strict=True):
        for local, reason in answer.items():
            refused[lane[local]] = DocumentRefused(f"Elasticsearch refused the document: {reason}")
    return refused


async def handle(event: Event) -> None:
    refused = await handle_batch([event])
    if refused:
        raise refused[0]


CONSUMER = Consumer("search", TOPICS, handle, handle_batch)
