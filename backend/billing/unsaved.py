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
import logging
import weakref

from backend.db.session import get_engine
from backend.events.outbox import emit

log = logging.getLogger("linkflow.billing.unsaved")
MAX_PENDING = 100_000  # while the database is away; past it the oldest are dropped (and logged)
FLUSH_AFTER_S = 0.2
RETRY_S = 1.0


class _Batch:
    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._pending: list[dict] = []
        self._scheduled = False

    def add(self, run: dict) -> None:
        self._pending.append(run)
        if not self._scheduled:
            self._scheduled = True
            self._loop.call_later(FLUSH_AFTER_S, self._flush)

    def _flush(self) -> None:
        pending, self._pending = self._pending, []
        if not pending:
            self._scheduled = False
            return
        self._loop.run_in_executor(None, _write, pending).add_done_callback(
            lambda done: self._written(pending, done.exception()))

    def _written(self, pending: list[dict], error: BaseException | None) -> None:
        self._scheduled = False
        if error is not None:  # kept for the next write
            log.error("could not record unsaved runs for metering; retried", exc_info=error,
                      extra={"runs": len(pending)})
            merged = pending + self._pending
            if len(merged) > MAX_PENDING:
                log.error("unsaved runs dropped from metering: the database was away too long",
                          extra={"dropped": len(merged) - MAX_PENDING})
            self._pending = merged[-MAX_PENDING:]
        if self._pending:
            self._scheduled = True
            self._loop.call_later(RETRY_S if error is not None else FLUSH_AFTER_S, self._flush)


def _write(pending: list[dict]) -> None:
    with get_engine().begin() as conn:
        emit(conn, "execution.events", pending[0]["execution_id"], {"type": "execution.unsaved", "executions": pending})


_batches: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Batch] = weakref.WeakKeyDictionary()


def record_unsaved_run(team_id: str, execution_id: str, workflow_id: str | None, mode: str, status: str) -> None:
    loop = asyncio.get_running_loop()
    batch = _batches.get(loop)
    if batch is None:
        batch = _batches[loop] = _Batch(loop)
    batch.add({"execution_id": execution_id, "team_id": team_id, "workflow_id": workflow_id, "mode": mode,
               "status": status})
