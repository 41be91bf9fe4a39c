"""The `search` consumer group: keeps Elasticsearch in step with workflow, execution and audit events.

On Kafka each fetch (up to 1,000 events) becomes one bulk request (`handle_batch`); elsewhere events come
one at a time. With the SQL backend (the default) there is nothing to index: search reads the database.
A document Elasticsearch refuses (e.g. a mapping conflict) sends its event to dlq.events with the reason;
Elasticsearch being away is retried with backoff by the consumer runner.
"""

from __future__ import annotations

import asyncio

from backend.errors import UserError
from backend.events.bus import Event
from backend.events.consumers import Consumer
from backend.search.elastic import get_index
from backend.search.indexer import TOPICS, index_events
from backend.settings import get_settings


class DocumentRefused(UserError):
    """Elasticsearch refused the document for good: retrying the same event cannot help."""


async def handle_batch(events: list[Event]) -> dict[int, Exception]:
    settings = get_settings().search
    if settings.backend != "elasticsearch":
        return {}
    refused = await asyncio.to_thread(index_events, get_index(), events, settings.max_field_chars)
    return {position: DocumentRefused(f"Elasticsearch refused the document: {reason}")
            for position, reason in refused.items()}


async def handle(event: Event) -> None:
    refused = await handle_batch([event])
    if refused:
        raise refused[0]


CONSUMER = Consumer("search", TOPICS, handle, handle_batch)
