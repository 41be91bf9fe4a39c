"""Queued webhook executions go to the queue in batches: one round trip for every id committed in the
same event-loop iteration (``dispatch_many``: a pipelined Redis send), after their answers went out.

Like the group commit, the send blocks the loop for its round trip; a send that fails leaves the
executions queued, and the reaper sends them again once a lease has passed.
"""

from __future__ import annotations

import asyncio
import logging
import weakref

from backend.executions import dispatch

log = logging.getLogger("linkflow.webhooks")
MAX_BATCH = 500


class _Sender:
    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._pending: list[str] = []
        self._sent: asyncio.Future | None = None

    def add(self, execution_id: str) -> asyncio.Future:
        """The future of the batch ``execution_id`` goes out with."""
        self._pending.append(execution_id)
        if len(self._pending) == 1:
            self._sent = self._loop.create_future()
            self._loop.call_soon(self._flush)
        return self._sent

    def _flush(self) -> None:
        pending, self._pending = self._pending, []
        sent, self._sent = self._sent, None
        for start in range(0, len(pending), MAX_BATCH):
            batch = pending[start:start + MAX_BATCH]
            try:
                dispatch.dispatch_many(batch)
            except Exception:  # they stay queued: the reaper sends them again
                log.exception("dispatch failed; the reaper will send them again", extra={"executions": len(batch)})
        if sent is not None and not sent.done():
            sent.set_result(None)


_senders: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Sender] = weakref.WeakKeyDictionary()


async def send_soon(execution_id: str) -> None:
    """Hand ``execution_id`` to the queue with the others of this loop iteration (a response's background task)."""
    loop = asyncio.get_running_loop()
    sender = _senders.get(loop)
    if sender is None:
        sender = _senders[loop] = _Sender(loop)
    await sender.add(execution_id)
