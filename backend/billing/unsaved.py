"""Metering runs that leave no execution row (``save_data`` none, or errors only and it succeeded).

Such a webhook run writes nothing, so nothing would tell the metering consumer it happened. With
billing on, the runs that finish within ``FLUSH_AFTER_S`` are written as ONE ``execution.unsaved``
outbox event listing them (``executions``: id, team, workflow, mode, status), from a thread, after
the answers went out: the request does not wait for it, and the path that saved nothing still does
no database work per run (a commit per loop iteration cost ~40 µs of CPU per request and doubled
the sequential latency; bench/README.md). The consumer meters each listed execution once (by its
id), however often the event arrives. The price: a process that crashes within ``FLUSH_AFTER_S`` of
answering loses the count of those runs (saved runs are counted from their own rows' events). If the
database refuses the write, the runs are kept and written with the next ones.
"""

from __future__ import annotations

import asyncio
import weakref

from backend.db.group_commit import per_loop
from backend.db.session import get_engine
from backend.events.deferred import LoopBatch
from backend.events.outbox import emit

MAX_PENDING = 100_000  # while the database is away; past it the oldest are dropped (and logged)
FLUSH_AFTER_S = 0.2
RETRY_S = 1.0


def _write(pending: list[dict]) -> None:
    with get_engine().begin() as conn:
        emit(conn, "execution.events", pending[0]["execution_id"], {"type": "execution.unsaved", "executions": pending})


_batches: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, LoopBatch] = weakref.WeakKeyDictionary()


def record_unsaved_run(team_id: str, execution_id: str, workflow_id: str | None, mode: str, status: str) -> None:
    per_loop(_batches, _new_batch).add({"execution_id": execution_id, "team_id": team_id,
                                          "workflow_id": workflow_id, "mode": mode, "status": status})


def _new_batch(loop: asyncio.AbstractEventLoop) -> LoopBatch:
    # _write and the settings looked up when the batch is made (tests replace them)
    return LoopBatch(loop, lambda runs: _write(runs), "unsaved runs for metering", flush_after_s=FLUSH_AFTER_S,
                     retry_s=RETRY_S, max_pending=MAX_PENDING)
