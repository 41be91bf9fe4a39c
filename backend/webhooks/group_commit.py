"""Group commit: webhook runs that finish (or start acting) at the same moment share one transaction.

The first run to finish starts a flush; those that finish while it writes wait for the
next one. A run alone is written at once, so this adds no latency when idle; under load
one commit serves many executions. Should a shared transaction fail, its runs are written
one by one, so only the run at fault sees the error (backend/db/group_commit.py).

The write runs in the event loop itself, blocking it for the commit. A thread would let
the loop go on meanwhile, but every hand-over of the GIL between the loop and the writer
can wait a switch interval (5 ms), and measured on both SQLite and PostgreSQL the thread
gave fewer requests per second for more CPU per request (bench/README.md). Requests keep
arriving while the loop is blocked, so the next batch is larger and absorbs the commit.
"""

from __future__ import annotations

import asyncio
import weakref

from backend.db.group_commit import GroupCommit, PipelinedGroupCommit, per_loop
from backend.webhooks.persist import FinishedRun, RunDraft, write_queued, write_recorded, write_runs

_finishers: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, GroupCommit] = weakref.WeakKeyDictionary()
_recorders: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, GroupCommit] = weakref.WeakKeyDictionary()
_queuers: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, GroupCommit] = weakref.WeakKeyDictionary()


async def save_finished(run: FinishedRun) -> None:
    """Persist ``run``; returns once its transaction has committed."""
    await per_loop(_finishers, lambda _loop: GroupCommit(lambda runs: write_runs(runs))).save(run)


async def save_recorded(draft: RunDraft) -> None:
    """Commit the running row of a run about to act outside LinkFlow; returns once it is committed."""
    await per_loop(_recorders, lambda _loop: GroupCommit(lambda drafts: write_recorded(drafts))).save(draft)


async def save_queued(draft: RunDraft) -> None:
    """Commit a queued execution (a webhook that answers at once); returns once it is committed."""
    await per_loop(_queuers, lambda _loop: PipelinedGroupCommit(lambda drafts: write_queued(drafts))).save(draft)
