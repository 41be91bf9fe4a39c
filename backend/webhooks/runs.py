"""Starting a webhook's workflow: queued (respond immediately) or inline (answer with its result).

Inline runs (respond ``last_node`` / ``respond_node``) do not go through the queue. The
engine runs on one of the inline lanes (``backend/isolation.py``: a few threads with their
own event loops, so a workflow that computes for seconds cannot stop the request loop) with
its steps in memory; back on the request loop, the finished execution (row, every step, the
outbox event) is written in ONE transaction, shared with other requests finishing at the
same moment (group_commit.py, persist.py). Going through the queue costs several
transactions and a dispatch per run; this costs one thread hop and one insert batch.

The trade-off: while an inline run is in memory, a crash of this process loses it. That
loses nothing anyone was told about: the caller has no answer yet and will see a broken
connection, so it retries (webhook senders do). Nodes with side effects may then run
twice, as they may after any crash (nodes run at least once).

Runs that stop being short become durable: after ``INLINE_BUDGET_S`` the execution row is
written (running, leased to this process, kept alive by the lease keeper) with the steps
done so far, and every later step is committed as a worker would; should this process
die, the reaper hands the execution to a worker, which resumes from the last step (such a
run is saved whatever ``save_data`` says, like a worker's). A run that parks in a Wait
node is saved as waiting, and resumes like any other waiting one.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import time
from dataclasses import dataclass

from backend.db.base import utcnow
from backend.db.session import session_scope
from backend.engine.runner import RunResult, run
from backend.engine.services import EngineServices, ExecutionInfo
from backend.engine.store import StepRecord
from backend.executions import service
from backend.executions.leases import keeper
from backend.executions.links import signed_resume_url
from backend.executions.services_factory import engine_services
from backend.executions.sql_store import SqlStepStore
from backend.executions.worker_runtime import record_outcome
from backend.isolation import inline_lanes
from backend.webhooks.group_commit import save_finished
from backend.webhooks.persist import FinishedRun, RunDraft, ordered_id, write_running
from backend.webhooks.storage import LocalBinaryStore
from backend.webhooks.targets import Target

log = logging.getLogger("linkflow.webhooks")

WEB_WORKER_ID = f"{socket.gethostname()}:{os.getpid()}:web"
INLINE_BUDGET_S = 2.0


@dataclass(frozen=True, slots=True)
class Trigger:
    """Who a request starts: the workflow, its Webhook node and the execution mode."""

    team_id: str
    workflow_id: str
    workflow_name: str
    node_id: str
    mode: str  # webhook | test


@dataclass(slots=True)
class Outcome:
    execution_id: str
    result: RunResult | None  # None: the run was cancelled (by a user) while it ran
    timed_out: bool = False


def run_services(team_id: str, execution_id: str, probe: dict) -> EngineServices:
    services = engine_services(team_id, execution_id, probe)
    services.binary = LocalBinaryStore()
    return services


def queue_run(trigger: Trigger, target: Target, item: dict) -> str:
    """A queued execution, committed; the caller dispatches its id after answering."""
    with session_scope() as session:
        execution = service.create_execution(
            session, team_id=trigger.team_id, definition=target.definition, mode=trigger.mode,
            input_items=[item], workflow_id=trigger.workflow_id, version_id=target.version_id)
        return execution.id


async def run_inline(trigger: Trigger, target: Target, item: dict) -> Outcome:
    """Run on a lane of ``backend/isolation.py``; back on the request loop, save in a group commit."""
    draft = RunDraft(id=ordered_id(), team_id=trigger.team_id, workflow_id=trigger.workflow_id,
                     version_id=target.version_id, definition_json=target.definition_json, mode=trigger.mode,
                     input=[item])
    store = _SpillingStore(draft)
    outcome = await inline_lanes().run(lambda: _run_in_lane(trigger, target, item, store))
    if store.durable is not None or outcome.result is None:
        return outcome
    if not _keeps(target, trigger, outcome.result.status):
        if outcome.result.status == "failed":
            log.warning("webhook run failed (save_data=%s: not saved)", target.save_data,
                        extra={"execution_id": draft.id, "workflow_id": trigger.workflow_id})
        return outcome
    await save_finished(FinishedRun(draft, outcome.result, list(store.steps.values())))
    return outcome


async def _run_in_lane(trigger: Trigger, target: Target, item: dict, store: _SpillingStore) -> Outcome:
    draft = store.draft
    info = ExecutionInfo(id=draft.id, mode=trigger.mode, workflow_id=trigger.workflow_id,
                         workflow_name=trigger.workflow_name, resume_url=signed_resume_url(draft.id))
    task = asyncio.current_task()
    timer = asyncio.get_running_loop().call_later(INLINE_BUDGET_S, store.spill, task)
    started = time.monotonic()
    try:
        result = await run(target.runnable, execution=info, input_items=[item], store=store,
                           services=run_services(trigger.team_id, draft.id, target.vars_probe))
    except asyncio.CancelledError:
        if store.durable is None or task is None:
            raise
        task.uncancel()  # the lease keeper stopped it: a user cancelled the execution
        keeper.release(draft.id)
        return Outcome(draft.id, None)
    finally:
        timer.cancel()
    timed_out = result.status == "failed" and time.monotonic() - started >= target.timeout_s
    if store.durable is not None:
        keeper.release(draft.id)
        await asyncio.to_thread(finish_leased, draft.id, result, store.durable)
    return Outcome(draft.id, result, timed_out)


def _keeps(target: Target, trigger: Trigger, status: str) -> bool:
    if status == "waiting" or trigger.mode == "test":
        return True  # a waiting run must be resumable; a test run is what the editor shows
    return target.save_data == "all" or (target.save_data == "errors" and status == "failed")


def finish_leased(execution_id: str, result: RunResult, store: SqlStepStore) -> None:
    if not record_outcome(execution_id, WEB_WORKER_ID, result, store):
        log.warning("webhook run outcome dropped: the lease was lost", extra={"execution_id": execution_id})


class _SpillingStore:
    """Steps in memory; once ``spill`` ran, every step is also committed (SqlStepStore)."""

    def __init__(self, draft: RunDraft) -> None:
        self.draft = draft
        self.steps: dict[tuple[str, int], StepRecord] = {}
        self.durable: SqlStepStore | None = None

    async def load_steps(self) -> dict[tuple[str, int], StepRecord]:
        return {}  # always a new execution

    async def save_step(self, step: StepRecord) -> None:
        self.steps[step.key] = step
        if self.durable is not None:
            # A blocking commit in the event loop, as on a worker's loop; only runs past the budget get here.
            await self.durable.save_step(step)

    def spill(self, task: asyncio.Task | None) -> None:
        lease_until = utcnow() + service.lease()
        try:
            write_running(self.draft, list(self.steps.values()), WEB_WORKER_ID, lease_until)
        except Exception:  # the run goes on in memory and is saved at its end
            log.exception("could not make a long webhook run durable", extra={"execution_id": self.draft.id})
            return
        if task is not None:
            keeper.hold(self.draft.id, WEB_WORKER_ID, task)
        self.durable = SqlStepStore(self.draft.id)
