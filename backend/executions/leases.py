"""One heartbeat thread per process renews the leases of every execution it runs.

A lease that can no longer be renewed (cancelled by a user, or taken over after this
worker stalled) stops its run: the engine task is cancelled from its own event loop.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from dataclasses import dataclass

from sqlalchemy import select, update

from backend.db.base import utcnow
from backend.db.session import session_scope
from backend.executions import service
from backend.executions.models import Execution
from backend.executions.models import ExecutionStatus as S

log = logging.getLogger("linkflow.executions")


@dataclass
class _Held:
    worker_id: str
    loop: asyncio.AbstractEventLoop
    task: asyncio.Task


class LeaseKeeper:
    def __init__(self) -> None:
        self._held: dict[str, _Held] = {}
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def hold(self, execution_id: str, worker_id: str, task: asyncio.Task) -> None:
        with self._lock:
            self._held[execution_id] = _Held(worker_id, task.get_loop(), task)
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._beat, name="lease-keeper", daemon=True)
                self._thread.start()

    def release(self, execution_id: str) -> None:
        with self._lock:
            self._held.pop(execution_id, None)

    def holds(self, execution_id: str) -> bool:
        with self._lock:
            return execution_id in self._held

    def stop(self, execution_id: str) -> bool:
        """Cancel the run of ``execution_id`` if this process holds it (a cancel command); False if it does not.
        The run stops at its current await: between nodes, or inside one (an HTTP call, a sandboxed job)."""
        with self._lock:
            held = self._held.get(execution_id)
        if held is None:
            return False
        held.loop.call_soon_threadsafe(held.task.cancel)
        return True

    def _beat(self) -> None:
        while True:
            threading.Event().wait(service.lease().total_seconds() / 3)
            with self._lock:
                held = dict(self._held)
            if held:
                try:
                    self._renew(held)
                except Exception:  # a database blip: the next beat tries again
                    log.exception("lease renewal failed")

    def _renew(self, held: dict[str, _Held]) -> None:
        with session_scope() as session:
            for execution_id, h in held.items():
                session.execute(update(Execution)
                                .where(Execution.id == execution_id, Execution.lease_owner == h.worker_id,
                                       Execution.status == S.RUNNING)
                                .values(lease_expires_at=utcnow() + service.lease()))
            still_ours = set(session.scalars(select(Execution.id).where(
                Execution.id.in_(list(held)), Execution.status == S.RUNNING,
                Execution.lease_owner.in_({h.worker_id for h in held.values()}))))
        for execution_id in set(held) - still_ours:
            h = held[execution_id]
            h.loop.call_soon_threadsafe(h.task.cancel)


keeper = LeaseKeeper()
