"""Queued webhook executions go to the queue in batches: one round trip (``dispatch_many``: a pipelined
Redis send) for the ids that came in while the previous batch was being sent, after their answers.

The send runs on a thread, so the loop goes on taking requests meanwhile; one batch is in flight at
a time. A send that fails leaves the executions queued, and the reaper sends them again once a
lease has passed.
"""

from __future__ import annotations

import asyncio
import logging
import weakref

from backend import tracing
from backend.executions import dispatch

log = logging.getLogger("linkflow.webhooks")
MAX_BATCH = 500


class _Sender:
    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._pending: list[tuple[str, str | None, asyncio.Future]] = []
        self._busy = False

    def add(self, execution_id: str, traceparent: str | None = None) -> asyncio.Future:
        """The future of the batch ``execution_id`` goes out with."""
        future = self._loop.create_future()
        self._pending.append((execution_id, traceparent, future))
        if not self._busy:
            self._busy = True
            self._loop.create_task(self._drain())
        return future

    async def _drain(self) -> None:
        try:
            while self._pending:
                pending, self._pending = self._pending, []
                traces = {execution_id: parent for execution_id, parent, _ in pending if parent}
                await asyncio.to_thread(_send, [execution_id for execution_id, _, _ in pending], traces)
                for _, _, future in pending:
                    if not future.done():
                        future.set_result(None)
        finally:
            self._busy = False


def _send(execution_ids: list[str], traces: dict[str, str]) -> None:
    for start in range(0, len(execution_ids), MAX_BATCH):
        batch = execution_ids[start:start + MAX_BATCH]
        try:
            if traces:  # tracing on: each message joins the trace of its own request
                dispatch.dispatch_many(batch, {i: traces[i] for i in batch if i in traces})
            else:
                dispatch.dispatch_many(batch)
        except Exception:  # they stay queued: the reaper sends them again
            log.exception("dispatch failed; the reaper will send them again", extra={"executions": len(batch)})


_senders: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Sender] = weakref.WeakKeyDictionary()


async def send_soon(execution_id: str) -> None:
    """Hand ``execution_id`` to the queue with the others of this loop iteration (a response's background task)."""
    loop = asyncio.get_running_loop()
    sender = _senders.get(loop)
    if sender is None:
        sender = _senders[loop] = _Sender(loop)
    await sender.add(execution_id, tracing.traceparent())
