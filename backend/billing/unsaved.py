"""Metering runs that leave no execution row (``save_data`` none, or errors only and it succeeded).

Such a webhook run writes nothing, so nothing would tell the metering consumer it happened. With
billing on, it writes one ``execution.unsaved`` outbox event instead; runs that finish in the same
loop iteration share one transaction, like the group commit of saved runs
(backend/webhooks/group_commit.py). Other consumers ignore the type.
"""

from __future__ import annotations

import asyncio
import weakref

from backend.db.session import get_engine
from backend.events.outbox import emit


class _Batch:
    def __init__(self) -> None:
        self._pending: list[tuple[dict, asyncio.Future]] = []

    async def add(self, payload: dict) -> None:
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        self._pending.append((payload, future))
        if len(self._pending) == 1:
            loop.call_soon(self._flush)
        await future

    def _flush(self) -> None:
        pending, self._pending = self._pending, []
        try:
            with get_engine().begin() as conn:
                for payload, _ in pending:
                    emit(conn, "execution.events", payload["execution_id"], payload)
        except Exception as exc:  # the callers' requests fail with it (logged there as unexpected)
            for _, future in pending:
                if not future.done():
                    future.set_exception(exc)
            return
        for _, future in pending:
            if not future.done():
                future.set_result(None)


_batches: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Batch] = weakref.WeakKeyDictionary()


async def record_unsaved_run(team_id: str, execution_id: str, workflow_id: str | None, mode: str,
                             status: str) -> None:
    loop = asyncio.get_running_loop()
    batch = _batches.get(loop)
    if batch is None:
        batch = _batches[loop] = _Batch()
    await batch.add({"type": "execution.unsaved", "execution_id": execution_id, "workflow_id": workflow_id,
                     "team_id": team_id, "mode": mode, "status": status, "error": None})
