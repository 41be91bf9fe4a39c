"""Group commit: writes that come due at the same moment on one event loop share one transaction.

The first write to come due starts a flush (``loop.call_soon``, so after every callback that is
ready in this loop iteration); those that come due while it writes wait for the next one. A write
alone is committed at once, so this adds no latency when idle; under load one commit serves many
callers. Should a shared transaction fail, its entries are written one by one, so only the caller at
fault sees the error.

``GroupCommit`` writes in the event loop itself, blocking it for the commit (see
backend/webhooks/group_commit.py for why that is the faster choice for webhook runs and worker
steps), but never for SQLite's write lock: while another connection holds it, the batch waits, with
the loop turning, and is tried again (backend.db.session.not_waiting_for_the_lock says why).
``PipelinedGroupCommit`` writes on a thread while the loop goes on gathering the next batch.
Users: webhook runs (backend/webhooks/group_commit.py) and the steps a worker records
(backend/executions/sql_store.py).
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Callable
from typing import TypeVar

from backend.db.session import LockWait, lock_busy, not_waiting_for_the_lock

MAX_BATCH = 200
T = TypeVar("T")


class GroupCommit:
    """``write(entries)`` commits a list of entries in one transaction. With ``returns``, it returns a list with one
    result per entry, and ``save`` returns the entry's result."""

    def __init__(self, write: Callable[[list], list | None], *, returns: bool = False) -> None:
        self._write = write if returns else lambda entries: _none(write, entries)
        self._pending: list[tuple[object, asyncio.Future]] = []
        self._lock_wait = LockWait()

    async def save(self, run: object) -> object:
        """Returns once ``run`` is committed (with ``returns``: what ``write`` returned for it)."""
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        self._pending.append((run, future))
        if len(self._pending) == 1:
            loop.call_soon(self._flush)  # after every request that finishes in this loop iteration
        return await future

    def _flush(self) -> None:
        pending, self._pending = self._pending, []
        for start in range(0, len(pending), MAX_BATCH):
            end = start + MAX_BATCH
            batch = pending[start:end]
            try:
                with not_waiting_for_the_lock():
                    results = self._write([run for run, _ in batch])
            except Exception as exc:
                if lock_busy(exc):
                    self._wait_for_the_lock(exc, pending[start:])
                    return
                if self._one_by_one(batch, pending[end:]):
                    return
            except BaseException as exc:  # noqa: BLE001 - the process is going down (or a test's kill): every
                for _, future in pending[start:]:  # caller hears it, as if it had written alone; none waits forever
                    _settle(future, exc)
                return
            else:
                self._lock_wait.reset()
                for (_, future), result in zip(batch, results, strict=True):
                    _settle(future, result=result)

    def _wait_for_the_lock(self, exc: Exception, unwritten: list[tuple[object, asyncio.Future]]) -> None:
        """Another connection holds SQLite's write lock (`exc`): put `unwritten` back and flush again after a
        pause, the loop turning meanwhile; once the lock has been held for as long as SQLite would wait, their
        callers hear SQLite's error."""
        if self._lock_wait.expired():
            self._lock_wait.reset()  # the next flush waits afresh
            for _, future in unwritten:
                _settle(future, exc)
            return
        self._pending = unwritten + self._pending
        asyncio.get_running_loop().call_later(self._lock_wait.pause(), self._flush)

    def _one_by_one(self, batch: list[tuple[object, asyncio.Future]], rest: list[tuple[object, asyncio.Future]]) -> bool:
        """Write a failed batch's entries one by one: only the caller at fault hears the error. Returns True if it
        stopped to wait for the lock (the entries not written, and `rest`, are put back)."""
        for position, (run, future) in enumerate(batch):
            try:
                with not_waiting_for_the_lock():
                    results = self._write([run])
            except Exception as exc:  # the caller's request fails with it (an unexpected error: logged there)
                if lock_busy(exc):
                    self._wait_for_the_lock(exc, batch[position:] + rest)
                    return True
                _settle(future, exc)
            else:
                _settle(future, result=results[0])
        return False


def _none(write: Callable[[list], object], entries: list) -> list[None]:
    write(entries)
    return [None] * len(entries)


def _settle(future: asyncio.Future, error: BaseException | None = None, result: object = None) -> None:
    if future.done():  # its request was cancelled meanwhile; the run is saved all the same
        return
    if error is None:
        future.set_result(result)
    else:
        future.set_exception(error)


class PipelinedGroupCommit(GroupCommit):
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


def per_loop(objects: weakref.WeakKeyDictionary, make: Callable[[asyncio.AbstractEventLoop], T]) -> T:
    """The running loop's object in ``objects`` (a group commit, a batch of deferred writes), made by
    ``make(loop)`` the first time; it goes when the loop does."""
    loop = asyncio.get_running_loop()
    made = objects.get(loop)
    if made is None:
        made = objects[loop] = make(loop)
    return made
