"""Metering runs that leave no execution row (``save_data`` none, or errors only and it succeeded).

Such a webhook run writes nothing, so nothing would tell the metering consumer it happened. With
billing on, the runs that finish in one loop iteration are written as ONE ``execution.unsaved``
outbox event listing them (``executions``: id, team, workflow, mode, status), right after the
answers went out: the request does not wait for it, and the path that saved nothing still writes
nothing per run. The consumer meters each listed execution once (by its id), however often the
event arrives. The cost of not waiting: a process that crashes in the moment between answering and
this write loses the count of those runs (saved runs are counted from their own rows' events).
If the database refuses the write, the runs are kept and written with the next ones.
"""

from __future__ import annotations

import asyncio
import logging
import weakref

from backend.db.session import get_engine
from backend.events.outbox import emit

log = logging.getLogger("linkflow.billing.unsaved")
MAX_PENDING = 100_000  # while the database is away; past it the oldest are dropped (and logged)
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
            self._loop.call_soon(self._flush)  # after every request that finishes in this loop iteration

    def _flush(self) -> None:
        self._scheduled = False
        pending, self._pending = self._pending, []
        if not pending:
            return
        try:
            with get_engine().begin() as conn:
                emit(conn, "execution.events", pending[0]["execution_id"],
                     {"type": "execution.unsaved", "executions": pending})
        except Exception:  # kept for the next write
            log.exception("could not record unsaved runs for metering; retried", extra={"runs": len(pending)})
            merged = pending + self._pending
            if len(merged) > MAX_PENDING:
                log.error("unsaved runs dropped from metering: the database was away too long",
                          extra={"dropped": len(merged) - MAX_PENDING})
            self._pending = merged[-MAX_PENDING:]
            if not self._scheduled:
                self._scheduled = True
                self._loop.call_later(RETRY_S, self._flush)


_batches: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Batch] = weakref.WeakKeyDictionary()


def record_unsaved_run(team_id: str, execution_id: str, workflow_id: str | None, mode: str, status: str) -> None:
    loop = asyncio.get_running_loop()
    batch = _batches.get(loop)
    if batch is None:
        batch = _batches[loop] = _Batch(loop)
    batch.add({"execution_id": execution_id, "team_id": team_id, "workflow_id": workflow_id, "mode": mode,
               "status": status})
