"""Starting a webhook's workflow: queued (respond immediately) or inline (answer with its result).

Inline runs (respond ``last_node`` / ``respond_node``) do not go through the queue. The
engine runs on one of the inline lanes (``backend/isolation.py``: a few threads with their
own event loops, so a workflow that computes for seconds cannot stop the request loop) with
its steps in memory; a workflow whose recent runs were all short (a few milliseconds of CPU)
runs on the request loop itself instead, which saves the two thread hops (``Placement``); back on the request loop, the finished execution (row, every step, the
outbox event) is written in ONE transaction, shared with other requests finishing at the
same moment (group_commit.py, persist.py). Going through the queue costs several
transactions and a dispatch per run; this costs one thread hop and one insert batch.

Nothing acts outside LinkFlow for a run that only lives in memory: before the first node whose
type declares ``side_effects`` (HTTP Request, Code, Execute Workflow, Wait, integrations) runs,
the execution row is committed (running, leased to this process and kept alive by the lease
keeper; group-committed with other runs reaching that point together). Should this process
die after that, the reaper hands the execution to a worker, which runs it again from the
start: pure nodes again, and the node with effects at least once more, as after any crash
(nodes run at least once). A run of pure nodes only stays in memory: a crash loses it before
anything happened outside and before its caller had an answer (the caller sees a broken
connection and may retry). Such a run with ``save_data: none`` writes nothing at all.

Runs that stop being short commit every step: after ``INLINE_BUDGET_S`` the execution row
(if not written yet) and the steps done so far are written, and every later step is
committed as a worker would; a crash then resumes from the last step. Such a run is saved
whatever ``save_data`` says, like a worker's. A run that parks in a Wait node is saved as
waiting (its steps and status in one transaction), and resumes like any other waiting one.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass

from backend import tracing
from backend.billing import hooks as billing
from backend.db.base import utcnow
from backend.engine.runner import RunResult, run
from backend.engine.services import EngineServices, ExecutionInfo
from backend.events.deferred import emit_soon
from backend.executions.facts import usage_entry
from backend.executions.leases import keeper
from backend.executions.links import signed_resume_url
from backend.executions.services_factory import engine_services
from backend.executions.sql_store import SqlStepStore
from backend.executions.timers import schedule_wake_up
from backend.executions.worker_runtime import record_outcome
from backend.isolation import inline_lanes, inline_placement
from backend.webhooks.group_commit import save_finished, save_queued
from backend.webhooks.inline_store import InlineStore
from backend.webhooks.persist import WEB_WORKER_ID, FinishedRun, RunDraft, ordered_id
from backend.webhooks.targets import Target

log = logging.getLogger("linkflow.webhooks")

__all__ = ["INLINE_BUDGET_S", "WEB_WORKER_ID", "Outcome", "Trigger", "finish_leased", "queue_run", "run_inline"]
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
    return engine_services(team_id, execution_id, probe)


async def queue_run(trigger: Trigger, target: Target, item: dict, execution_id: str | None = None) -> str:
    """A queued execution, committed (group-committed with the others of this moment); the caller
    hands its id to the queue after answering (``sender.send_soon``). ``execution_id``: the id the
    request's files were stored under (``new_execution_id``)."""
    draft = RunDraft(id=execution_id or ordered_id(), team_id=trigger.team_id, workflow_id=trigger.workflow_id,
                     version_id=target.version_id, definition_json=target.definition_json, mode=trigger.mode,
                     input=[item], traceparent=tracing.traceparent())
    await save_queued(draft)
    return draft.id


async def run_inline(trigger: Trigger, target: Target, item: dict, execution_id: str | None = None,
                     input_bytes: int = 0) -> Outcome:
    """Run on a lane of ``backend/isolation.py`` (or, once the workflow has shown its runs are short, on the
    request loop itself: ``Placement``); back on the request loop, save in a group commit."""
    draft = RunDraft(id=execution_id or ordered_id(), team_id=trigger.team_id, workflow_id=trigger.workflow_id,
                     version_id=target.version_id, definition_json=target.definition_json, mode=trigger.mode,
                     input=[item], traceparent=tracing.traceparent())
    store = InlineStore(draft)
    try:
        placement, key = inline_placement(), (trigger.workflow_id, target.version_id)
        if placement.on_loop(key, input_bytes):
            # A task of its own, as on a lane: a cancel (a user's, a lost lease) reaches the run, never the
            # request's save and answer after it.
            outcome = await asyncio.get_running_loop().create_task(
                placement.measured(key, _run_engine(trigger, target, item, store), on_loop=True))
        else:
            outcome = await inline_lanes().run(lambda: placement.measured(
                key, _run_engine(trigger, target, item, store), on_loop=False))
        if store.durable is not None or outcome.result is None:
            return outcome
        keeps = _keeps(target, trigger, outcome.result.status)
        if store.recorded:  # its row exists: finished under the lease, its steps only if they are kept
            await save_finished(FinishedRun(draft, outcome.result, store.done(), recorded=True, keep_steps=keeps))
        elif keeps:
            await save_finished(FinishedRun(draft, outcome.result, store.done()))
        if outcome.result.status == "waiting":
            schedule_wake_up(draft.id, outcome.result.resume_at)
        if not keeps and not store.recorded:  # no row, no event: billing still counts the run
            if outcome.result.status == "failed":
                log.warning("webhook run failed (save_data=%s: not saved)", target.save_data,
                            extra={"execution_id": draft.id, "workflow_id": trigger.workflow_id})
            billing.unsaved_run(draft.team_id, draft.id, draft.workflow_id, draft.mode, outcome.result.status)
            _unsaved_usage(draft, outcome.result)
        return outcome
    finally:
        if store.recorded:
            keeper.release(draft.id)


async def _run_engine(trigger: Trigger, target: Target, item: dict, store: InlineStore) -> Outcome:
    draft = store.draft
    info = ExecutionInfo(id=draft.id, mode=trigger.mode, workflow_id=trigger.workflow_id,
                         workflow_name=trigger.workflow_name, resume_url=signed_resume_url(draft.id))
    task = asyncio.current_task()
    store.task = task
    timer = asyncio.get_running_loop().call_later(INLINE_BUDGET_S, store.spill)
    started = time.monotonic()
    try:
        result = await run(target.runnable, execution=info, input_items=[item], store=store,
                           services=run_services(trigger.team_id, draft.id, target.vars_probe))
    except asyncio.CancelledError:
        if not store.recorded or task is None:
            raise
        task.uncancel()  # the lease keeper stopped it: a user cancelled the execution
        return Outcome(draft.id, None)
    finally:
        timer.cancel()
        store.close()
    timed_out = result.status == "failed" and time.monotonic() - started >= target.timeout_s
    if store.durable is not None:
        await asyncio.to_thread(finish_leased, draft.id, result, store.durable)
    return Outcome(draft.id, result, timed_out)


def _unsaved_usage(draft: RunDraft, result: RunResult) -> None:
    """A run that saved nothing still counts in Insights: its usage fact goes out with the loop's next batch."""
    entry = usage_entry(draft.id, draft.mode, result.status, result, draft.created_at, utcnow())
    if entry is not None:
        emit_soon("analytics.events", draft.workflow_id or draft.id, (
            ("type", "usage.executions"), ("team_id", draft.team_id), ("workflow_id", draft.workflow_id)),
            "executions", entry)


def _keeps(target: Target, trigger: Trigger, status: str) -> bool:
    if status == "waiting" or trigger.mode == "test":
        return True  # a waiting run must be resumable; a test run is what the editor shows
    return target.save_data == "all" or (target.save_data == "errors" and status == "failed")


def finish_leased(execution_id: str, result: RunResult, store: SqlStepStore) -> None:
    if not record_outcome(execution_id, WEB_WORKER_ID, result, store):
        log.warning("webhook run outcome dropped: the lease was lost", extra={"execution_id": execution_id})
