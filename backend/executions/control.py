"""What users do to executions: cancel, retry (whole or from the failed step), delete.

Retries are new executions (mode "retry", ``retry_of_id`` set); dispatch them after the
transaction commits. A retry from the failed step starts with copies of the original's
reusable steps, which the engine replays instead of running their nodes again.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.billing import hooks as billing
from backend.db.base import new_id, utcnow
from backend.engine.items import SPILLED
from backend.engine.store import REUSABLE_STATUSES
from backend.errors import Conflict
from backend.events.outbox import emit
from backend.executions import service
from backend.executions.models import Execution, ExecutionStep
from backend.executions.models import ExecutionStatus as S
from backend.executions.sql_store import offload_step, read_step_ref
from backend.executions.state import FINISHED
from backend.storage import keys
from backend.storage.service import copy_binaries, discard_execution, get_storage

CANCELLABLE = frozenset({S.QUEUED, S.WAITING, S.RUNNING})


def cancel_execution(session: Session, execution: Execution) -> Execution:
    """Queued and waiting ones stop here; a running one is stopped by its worker's next heartbeat."""
    session.refresh(execution, with_for_update=True)  # a worker may be finishing it right now
    if execution.status not in CANCELLABLE:
        raise Conflict(f"execution {execution.id} is {execution.status}; only queued, waiting or running "
                       "executions can be cancelled")
    service.cancel(session, execution)
    _command(session, execution, "cancel")
    session.flush()
    return execution


def resume_execution(session: Session, execution: Execution) -> Execution:
    """End a timed wait now: the row is due at once, and the process holding its wake-up sends it to the queue
    (without one, the next maintenance look-ahead does). A wait for its resume URL is resumed by calling it."""
    session.refresh(execution, with_for_update=True)
    if execution.status != S.WAITING:
        raise Conflict(f"execution {execution.id} is {execution.status}; only a waiting execution can be resumed")
    if execution.resume_at is None:
        raise Conflict(f"execution {execution.id} waits for its resume URL to be called; call that URL (the "
                       "workflow sent it out as {{ $execution.resume_url }}) to resume it with data")
    execution.resume_at = min(execution.resume_at, utcnow())
    _command(session, execution, "resume")
    session.flush()
    return execution


def retry_execution(session: Session, original: Execution, *, from_failed_step: bool = False) -> Execution:
    """A new execution of the same definition and input; optionally resuming at the failed step."""
    if original.status not in FINISHED:
        raise Conflict(f"execution {original.id} is {original.status}; only finished executions can be retried")
    if from_failed_step and original.status == S.SUCCEEDED:
        raise Conflict(f"execution {original.id} succeeded: no failed step to retry from; retry it whole")
    if original.definition is None:
        raise Conflict(f"execution {original.id} kept no workflow definition, so it cannot be run again")
    billing.admit_execution(original.team_id, "retry")  # 402 past the plan's executions
    retry = service.create_execution(
        session, team_id=original.team_id, definition=original.definition, mode="retry",
        input_items=original.input, workflow_id=original.workflow_id, version_id=original.version_id,
        retry_of_id=original.id)
    if from_failed_step:
        _copy_reusable_steps(session, original.team_id, original.id, retry.id)
    copy_binaries(original.team_id, original.id, retry.id)  # deleting the original cannot break the retry
    _command(session, original, "retry")
    return retry


def _command(session: Session, execution: Execution, command: str) -> None:
    """The request on execution.commands, after the database change it asks for: the process holding the
    execution acts on it at once (backend/executions/commands.py); without one the database path does."""
    emit(session, "execution.commands", execution.id, {
        "type": "execution.command", "command": command, "execution_id": execution.id,
        "team_id": execution.team_id, "command_id": new_id()})


def delete_execution(session: Session, execution: Execution) -> None:
    """Delete a finished execution and its steps; call ``discard_offloaded`` after the commit."""
    if execution.status not in FINISHED:
        raise Conflict(f"execution {execution.id} is {execution.status}; cancel it before deleting it")
    session.delete(execution)  # its steps go with it (ON DELETE CASCADE)
    session.flush()


def discard_offloaded(team_id: str, execution_id: str) -> None:
    """Its objects in storage (offloaded step data, binary data), once the rows are gone for good."""
    discard_execution(team_id, execution_id)


def _copy_reusable_steps(session: Session, team_id: str, source_id: str, target_id: str) -> None:
    steps = session.scalars(select(ExecutionStep).where(
        ExecutionStep.execution_id == source_id, ExecutionStep.status.in_(REUSABLE_STATUSES)))
    for step in steps:
        session.add(ExecutionStep(
            execution_id=target_id, node_id=step.node_id, node_name=step.node_name, run_index=step.run_index,
            status=step.status, attempts=step.attempts, input=_copy_spilled(team_id, step.input, target_id),
            input_ref=_copy_offloaded(team_id, step, "input", step.input_ref, target_id),
            output=_copy_spilled(team_id, step.output, target_id),
            output_ref=_copy_offloaded(team_id, step, "output", step.output_ref, target_id), error=step.error,
            started_at=step.started_at, finished_at=step.finished_at))
    session.flush()


def _copy_spilled(team_id: str, ports: dict | None, target_id: str) -> dict | None:
    """Step data with each spilled port's object copied to the retry (server-side in S3), pointing at the copy."""
    if not isinstance(ports, dict):
        return ports
    copied = {}
    for port, items in ports.items():
        ref = items.get(SPILLED) if isinstance(items, dict) else None
        if isinstance(ref, dict) and keys.is_id(ref.get("id")) and keys.is_id(ref.get("execution_id")):
            get_storage().copy(keys.items_key(team_id, ref["execution_id"], ref["id"]),
                               keys.items_key(team_id, target_id, ref["id"]))
            items = {SPILLED: {**ref, "execution_id": target_id}}
        copied[port] = items
    return copied


def _copy_offloaded(team_id: str, step: ExecutionStep, kind: str, ref: str | None, target_id: str) -> str | None:
    """Each execution owns its offloaded data, so deleting the original cannot break the retry."""
    if not ref:
        return None
    if not ref.startswith(keys.STEP_REF_SCHEME):  # a file of before the storage service: into storage
        return offload_step(team_id, target_id, step, kind, read_step_ref(ref))
    target = keys.step_key(team_id, target_id, step.node_id, step.run_index, kind)
    get_storage().copy(ref.removeprefix(keys.STEP_REF_SCHEME), target)  # server-side in S3
    return keys.STEP_REF_SCHEME + target
