"""Group commit: webhook runs that finish at the same moment share one transaction.

The first run to finish starts a flush; those that finish while it writes wait for the
next one. A run alone is written at once, so this adds no latency when idle; under load
one commit serves many executions. Should a shared transaction fail, its runs are written
one by one, so only the run at fault sees the error.

Where the write runs: SQLite writes are short and mostly Python work (binding rows), so
they run in the event loop itself; handing them to a thread only adds GIL hand-overs
between the loop and the writer (each can wait a switch interval, 5 ms). PostgreSQL
commits wait on the network and the server's WAL flush with the GIL released, so they
run in a thread and the loop keeps serving requests meanwhile.
"""

from __future__ import annotations

import asyncio
import weakref

from backend.db.session import get_engine
from backend.webhooks.persist import FinishedRun, write_runs

MAX_BATCH = 200


class _GroupCommit:
    def __init__(self, in_thread: bool) -> None:
        self._in_thread = in_thread
        self._pending: list[tuple[FinishedRun, asyncio.Future]] = []
        self._flushing = False
        self._task: asyncio.Task | None = None  # held so the running flush is not garbage-collected

    async def save(self, run: FinishedRun) -> None:
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        self._pending.append((run, future))
        if not self._flushing:
            self._flushing = True
            self._task = loop.create_task(self._flush())
        await future

    async def _flush(self) -> None:
        try:
            while self._pending:
                batch, self._pending = self._pending[:MAX_BATCH], self._pending[MAX_BATCH:]
                try:
                    await self._write([run for run, _ in batch])
                except Exception:
                    await self._one_by_one(batch)
                    continue
                for _, future in batch:
                    if not future.done():
                        future.set_result(None)
        finally:
            self._flushing = False

    async def _write(self, runs: list[FinishedRun]) -> None:
        if self._in_thread:
            await asyncio.to_thread(write_runs, runs)
        else:
            write_runs(runs)

    async def _one_by_one(self, batch: list[tuple[FinishedRun, asyncio.Future]]) -> None:
        for run, future in batch:
            try:
                await self._write([run])
            except Exception as exc:  # the caller's request fails with it (an unexpected error: logged there)
                if not future.done():
                    future.set_exception(exc)
            else:
                if not future.done():
                    future.set_result(None)


_writers: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _GroupCommit] = weakref.WeakKeyDictionary()


async def save_finished(run: FinishedRun) -> None:
    """Persist ``run``; returns once its transaction has committed."""
    loop = asyncio.get_running_loop()
    writer = _writers.get(loop)
    if writer is None:
        writer = _writers[loop] = _GroupCommit(in_thread=get_engine().dialect.name != "sqlite")
    await writer.save(run)

