"""The `search` consumer group: keeps Elasticsearch in step with workflow, execution and audit events.

Each batch (a Kafka fetch of up to 1,000 events, or what the in-memory bus has queued) becomes one bulk
request (`handle_batch`). With the SQL backend (the default) there is nothing to index: search reads the database.
A document Elasticsearch refuses (e.g. a mapping conflict) sends its event to dlq.events with the reason;
Elasticsearch being away is retried with backoff by the consumer runner. Once an hour it also drops the
monthly indices that fell out of execution retention.
"""

from __future__ import annotations

import asyncio
import logging
import time
import zlib

from backend.errors import UserError
from backend.events.bus import Event
from backend.events.consumers import Consumer
from backend.search.cli import prune
from backend.search.elastic import SearchUnavailable, get_index
from backend.search.indexer import TOPICS, index_events
from backend.settings import get_settings

log = logging.getLogger("linkflow.search")


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
    await _prune_now_and_then(index)
    answers = await asyncio.gather(*(
        asyncio.to_thread(index_events, index, [events[p] for p in lane], settings.max_field_chars)
        for lane in lanes if lane))
    refused: dict[int, Exception] = {}
    for lane, answer in zip([lane for lane in lanes if lane], answers, strict=True):
        for local, reason in answer.items():
            refused[lane[local]] = DocumentRefused(f"Elasticsearch refused the document: {reason}")
    return refused


PRUNE_EVERY_S = 3600.0
_pruned_at: float | None = None


async def _prune_now_and_then(index) -> None:
    """Drop the months of executions and audit entries outside retention, hourly (`linkflow search prune`)."""
    global _pruned_at
    now = time.monotonic()
    if _pruned_at is not None and now - _pruned_at < PRUNE_EVERY_S:
        return
    _pruned_at = now
    try:
        dropped = await asyncio.to_thread(prune, index, get_settings().executions.retention_days)
    except SearchUnavailable as exc:
        log.warning("could not drop old search indices", extra={"error": str(exc)})
        return
    if dropped:
        log.info("old search indices dropped", extra={"indices": dropped})


async def handle(event: Event) -> None:
    refused = await handle_batch([event])
    if refused:
        raise refused[0]


CONSUMER = Consumer("search", TOPICS, handle, handle_batch=handle_batch)
