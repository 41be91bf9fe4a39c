"""Group commit: webhook runs that finish (or start acting) at the same moment share one transaction.

The first run to finish starts a flush; those that finish while it writes wait for the
next one. A run alone is written at once, so this adds no latency when idle; under load
one commit serves many executions. Should a shared transaction fail, its runs are written
one by one, so only the run at fault sees the error.

The write runs in the event loop itself, blocking it for the commit. A thread would let
the loop go on meanwhile, but every hand-over of the GIL between the loop and the writer
can wait a switch interval (5 ms), and measured on both SQLite and PostgreSQL the thread
gave fewer requests per second for more CPU per request (bench/README.md). Requests keep
arriving while the loop is blocked, so the next batch is larger and absorbs the commit.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Callable

from backend.webhooks.persist import FinishedRun, RunDraft, write_queued, write_recorded, write_runs

MAX_BATCH = 200


class _GroupCommit:
    def __init__(self, write: Callable[[list], None]) -> None:
        self._write = write
        self._pending: list[tuple[object, asyncio.Future]] = []

    async def save(self, run: object) -> None:
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        self._pending.append((run, future))
        if len(self._pending) == 1:
            loop.call_soon(self._flush)  # after every request that finishes in this loop iteration
        await future

    def _flush(self) -> None:
        pending, self._pending = self._pending, []
        for start in range(0, len(pending), MAX_BATCH):
            batch = pending[start:start + MAX_BATCH]
            try:
                self._write([run for run, _ in batch])
            except Exception:
                self._one_by_one(batch)
            else:
                for _, future in batch:
                    _settle(future)

    def _one_by_one(self, batch: list[tuple[object, asyncio.Future]]) -> None:
        for run, future in batch:
            try:
                self._write([run])
            except Exception as exc:  # the caller's request fails with it (an unexpected error: logged there)
                _settle(future, exc)
            else:
                _settle(future)


def _settle(future: asyncio.Future, error: Exception | None = None) -> None:
    if future.done():  # its request was cancelled meanwhile; the run is saved all the same
        return
    if error is None:
        future.set_result(None)
    else:
        future.set_exception(error)


class _Pipelined(_GroupCommit):
    """A group commit whose write runs on a thread while the loop goes on gathering the next batch.

    For the intake of webhooks that answer at once: nothing runs on the loop meanwhile but taking
    requests, and on PostgreSQL a commit waits for its WAL flush; with the write on the loop, no
    request was read while a batch committed (bench/queue.py). One batch is written at a time.
    """

    def __init__(self, write: Callable[[list], None]) -> None:
        super().__init__(write)
        self._busy = False

    async def save(self, run: object) -> None:
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        self._pending.append((run, future))
        if not self._busy:
            self._busy = True
            loop.create_task(self._drain())
        await future

    async def _drain(self) -> None:
        try:
            while self._pending:
                pending, self._pending = self._pending, []
                outcomes = await asyncio.to_thread(self._write_all, pending)
                for (_, future), error in zip(pending, outcomes, strict=True):
                    _settle(future, error)
        finally:
            self._busy = False

    def _write_all(self, pending: list[tuple[object, asyncio.Future]]) -> list[Exception | None]:
        outcomes: list[Exception | None] = []
        for start in range(0, len(pending), MAX_BATCH):
            batch = [run for run, _ in pending[start:start + MAX_BATCH]]
            try:
                self._write(batch)
                outcomes += [None] * len(batch)
            except Exception:
                for run in batch:
                    try:
                        self._write([run])
                        outcomes.append(None)
                    except Exception as exc:  # noqa: BLE001 - handed to its request
                        outcomes.append(exc)
        return outcomes


_finishers: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _GroupCommit] = weakref.WeakKeyDictionary()
_recorders: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _GroupCommit] = weakref.WeakKeyDictionary()
_queuers: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _GroupCommit] = weakref.WeakKeyDictionary()


async def save_finished(run: FinishedRun) -> None:
    """Persist ``run``; returns once its transaction has committed."""
    loop = asyncio.get_running_loop()
    writer = _finishers.get(loop)
    if writer is None:
        writer = _finishers[loop] = _GroupCommit(lambda runs: write_runs(runs))
    await writer.save(run)


async def save_recorded(draft: RunDraft) -> None:
    """Commit the running row of a run about to act outside LinkFlow; returns once it is committed."""
    loop = asyncio.get_running_loop()
    writer = _recorders.get(loop)
    if writer is None:
        writer = _recorders[loop] = _GroupCommit(lambda drafts: write_recorded(drafts))
    await writer.save(draft)



async def save_queued(draft: RunDraft) -> None:
    """Commit a queued execution (a webhook that answers at once); returns once it is committed."""
    loop = asyncio.get_running_loop()
    writer = _queuers.get(loop)
    if writer is None:
        writer = _queuers[loop] = _Pipelined(lambda drafts: write_queued(drafts))
    await writer.save(draft)
