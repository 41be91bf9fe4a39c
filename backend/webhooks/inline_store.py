"""Where an inline webhook run keeps its steps: in memory, until it must be durable.

Three stages, each only entered when needed (runs.py says when):

* memory: steps in a dict; nothing written yet.
* recorded (``before_effects``, before the first node with side effects runs): the execution row
  is committed, running and leased to this process (group-committed with other runs reaching
  that point in the same loop iteration), and the lease keeper renews it. Steps stay in memory
  and are written with the outcome.
* durable (``spill``, once the run outlives the inline budget): the steps so far are written,
  with the row if it was not recorded, and every later step is committed as it is made.
"""

from __future__ import annotations

import asyncio
import logging

from backend.db.session import LockWait, lock_busy, not_waiting_for_the_lock
from backend.engine.store import StepRecord
from backend.executions.leases import keeper
from backend.executions.sql_store import SqlStepStore
from backend.webhooks.group_commit import save_recorded
from backend.webhooks.persist import WEB_WORKER_ID, RunDraft, write_recorded, write_steps

log = logging.getLogger("linkflow.webhooks")
RETRY_SPILL_S = 0.05  # a spill due while the row is being recorded waits for that commit


class InlineStore:
    def __init__(self, draft: RunDraft) -> None:
        self.draft = draft
        self.steps: dict[tuple[str, int], StepRecord] = {}
        self.task: asyncio.Task | None = None  # the run's task, stopped by the lease keeper on a cancel
        self.recorded = False  # the execution row is committed (running, leased to this process)
        self.durable: SqlStepStore | None = None  # set once every step is committed as it is made
        self._recording = False
        self._retry: asyncio.TimerHandle | None = None
        self._lock_wait = LockWait()
        self._closed = False

    def close(self) -> None:
        """The run has ended (its outcome is being written): a spill still due must not write its steps again."""
        self._closed = True
        if self._retry is not None:
            self._retry.cancel()

    def done(self) -> list[StepRecord]:
        return list(self.steps.values())

    async def load_steps(self) -> dict[tuple[str, int], StepRecord]:
        return {}  # always a new execution

    async def save_step(self, step: StepRecord) -> None:
        self.steps[step.key] = step
        if self.durable is not None:
            # A blocking commit in the event loop, as on a worker's loop; only runs past the budget get here.
            await self.durable.save_step(step)

    async def before_effects(self) -> None:
        if self.recorded:
            return
        self._recording = True
        try:
            await save_recorded(self.draft)  # raises if it cannot be written: the node does not run
        finally:
            self._recording = False
        self._hold()

    def spill(self) -> None:
        """Past the inline budget: commit what was done, and every step from now on. On the loop, so it does not
        wait inside SQLite for the write lock: while another connection holds it, it tries again after the pauses
        of `LockWait`, and after as long as SQLite itself would wait it gives up (the run is saved at its end)."""
        if self._closed:
            return
        if self._recording:
            self._spill_later(RETRY_SPILL_S)
            return
        try:
            with not_waiting_for_the_lock():
                if not self.recorded:
                    write_recorded([self.draft])
                    self._hold()
                write_steps(self.draft, self.done())
        except Exception as exc:  # the run goes on as it was and is saved at its end
            if lock_busy(exc) and not self._lock_wait.expired():
                self._spill_later(self._lock_wait.pause())
                return
            log.exception("could not make a long webhook run durable", extra={"execution_id": self.draft.id})
            return
        self.durable = SqlStepStore(self.draft.id, self.draft.team_id)

    def _spill_later(self, delay_s: float) -> None:
        self._retry = asyncio.get_running_loop().call_later(delay_s, self.spill)

    def _hold(self) -> None:
        if not self.recorded and self.task is not None:
            keeper.hold(self.draft.id, WEB_WORKER_ID, self.task)
        self.recorded = True
