"""Executions: create, claim with a lease, finish, cancel. The only writer of their rows."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy import BindParameter, Connection, bindparam, case, func, insert, or_, update
from sqlalchemy.orm import Session

from backend.db.base import JsonNullBind, JsonType, utcnow
from backend.engine.runner import RunResult
from backend.events.models import OutboxEvent
from backend.events.outbox import checked_row, emit
from backend.executions.facts import event_error, fact_rows, run_facts
from backend.executions.models import Execution
from backend.executions.models import ExecutionStatus as S
from backend.executions.state import FINISHED, check_transition, sources_of, transition
from backend.settings import get_settings
from backend.workflows.secrets import masked


def lease() -> timedelta:
    return timedelta(seconds=get_settings().queue.lease_seconds)


def create_execution(session: Session, *, team_id: str, definition: dict, mode: str = "manual",
                     input_items: list | None = None, workflow_id: str | None = None,
                     version_id: str | None = None, retry_of_id: str | None = None,
                     parent_execution_id: str | None = None, execution_id: str | None = None) -> Execution:
    """A queued execution; dispatch its id after the transaction commits.

    The definition snapshot is kept without secret parameters (workflows/secrets.py). ``execution_id``: an
    id drawn beforehand, when the trigger stored the execution's files under it first.
    """
    execution = Execution(**({"id": execution_id} if execution_id else {}), team_id=team_id, workflow_id=workflow_id, version_id=version_id,
                          definition=masked(definition), mode=mode, input=input_items or [],
                          retry_of_id=retry_of_id, parent_execution_id=parent_execution_id)
    session.add(execution)
    session.flush()
    emit(session, "execution.events", execution.id, _event(execution, "execution.queued"))
    return execution


def _param(name: str, column) -> BindParameter:
    return bindparam(name, type_=JsonNullBind if column.type is JsonType else column.type)


# claim and finish run for every execution: their statements are built once, and each call only binds
# parameters (building an UPDATE and its cache key per call cost more than executing it on SQLite).
_CLAIMABLE = (
    or_(*(Execution.status == source for source in sources_of(S.RUNNING) if source != S.RUNNING)),
    or_(Execution.status != S.WAITING, Execution.resume_at <= _param("p_now", Execution.resume_at)),
)
_CLAIM_VALUES = {
    "status": S.RUNNING, "lease_owner": _param("p_owner", Execution.lease_owner),
    "lease_expires_at": _param("p_expires", Execution.lease_expires_at), "attempts": Execution.attempts + 1,
    "started_at": func.coalesce(Execution.started_at, _param("p_now", Execution.started_at)),
}
_CLAIMED = (Execution.definition, Execution.input, Execution.mode, Execution.workflow_id, Execution.team_id,
            Execution.resume_at, Execution.lost_attempts, Execution.last_attempt_error)
_CLAIM_MANY = (
    update(Execution).where(Execution.id.in_(bindparam("p_ids", expanding=True)), *_CLAIMABLE)
    .values(**_CLAIM_VALUES).returning(Execution.id, *_CLAIMED)
)
_STATUS = _param("p_status", Execution.status)
_FINISH = (
    update(Execution)
    .where(Execution.id == _param("p_id", Execution.id), Execution.lease_owner == _param("p_owner", Execution.lease_owner),
           Execution.status == S.RUNNING)
    .values(status=_STATUS, output=_param("p_output", Execution.output),
            error=_param("p_error", Execution.error), lease_owner=None, lease_expires_at=None,
            resume_at=_param("p_resume_at", Execution.resume_at),
            # A wait is an outcome: the attempts after it are counted afresh (finished ones keep the count).
            lost_attempts=case((_STATUS == S.WAITING, 0), else_=Execution.lost_attempts),
            last_attempt_error=case((_STATUS == S.WAITING, None), else_=Execution.last_attempt_error),
            finished_at=func.coalesce(_param("p_finished_at", Execution.finished_at), Execution.finished_at))
    .returning(Execution.team_id, Execution.workflow_id, Execution.mode, Execution.started_at, Execution.finished_at)
)


@dataclass(frozen=True)
class Claimed:
    """What a worker needs to run an execution it now holds the lease of."""

    definition: dict
    input: list
    mode: str
    workflow_id: str | None
    team_id: str
    resumed: bool
    lost_attempts: int = 0  # attempts in a row before this one that ended without an outcome
    last_attempt_error: str | None = None


def claim(db: Session | Connection, execution_id: str, worker_id: str) -> Claimed | None:
    """Take the lease if the execution is runnable now; None if another worker has it or it is done.

    One conditional UPDATE ... RETURNING: the database decides who wins a race.
    """
    return claim_many(db, [execution_id], worker_id).get(execution_id)


def claim_many(db: Session | Connection, execution_ids: list[str], worker_id: str) -> dict[str, Claimed]:
    """``claim`` for several executions in one statement: those this worker now holds, by id."""
    now = utcnow()
    rows = db.execute(_CLAIM_MANY, {"p_ids": execution_ids, "p_now": now, "p_owner": worker_id,
                                    "p_expires": now + lease()})
    return {row.id: _claimed(row) for row in rows}


def _claimed(row) -> Claimed:
    return Claimed(definition=row.definition or {}, input=row.input or [], mode=row.mode,
                   workflow_id=row.workflow_id, team_id=row.team_id, resumed=row.resume_at is not None,
                   lost_attempts=row.lost_attempts, last_attempt_error=row.last_attempt_error)


@dataclass
class Outbox:
    """The outbox rows of several outcomes recorded in one transaction, inserted together by ``write`` before it
    commits: one statement instead of two per outcome, and the node results and usage of runs of one workflow
    packed into one event of each kind."""

    rows: list[dict] = field(default_factory=list)
    facts: list = field(default_factory=list)

    def write(self, db: Session | Connection) -> None:
        if rows := self.rows + fact_rows(self.facts):
            db.execute(insert(OutboxEvent), rows)
        self.rows, self.facts = [], []


def finish(db: Session | Connection, execution_id: str, worker_id: str, *, status: S,
           output: list | None = None, error: dict | None = None, resume_at=None,
           result: RunResult | None = None, outbox: Outbox | None = None) -> bool:
    """Record the outcome if we still hold the lease (a cancel or a lost lease wins).

    One conditional UPDATE ... RETURNING plus the outbox rows (with ``result``: the run's node results
    and usage fact too): this runs once per execution. With ``outbox``, the rows are added to it, and the
    caller writes it in the same transaction.
    """
    check_transition(execution_id, S.RUNNING, status)
    row = db.execute(_FINISH, {"p_id": execution_id, "p_owner": worker_id, "p_status": status, "p_output": output,
                               "p_error": error, "p_resume_at": resume_at,
                               "p_finished_at": utcnow() if status in FINISHED else None}).first()
    if row is None:
        return False
    pending = Outbox() if outbox is None else outbox
    pending.rows.append(checked_row("execution.events", execution_id, {
        "type": f"execution.{status}", "execution_id": execution_id, "workflow_id": row.workflow_id,
        "team_id": row.team_id, "mode": row.mode, "status": status, "error": event_error(error)}))
    if result is not None:
        pending.facts.append(run_facts(execution_id=execution_id, team_id=row.team_id, workflow_id=row.workflow_id,
                                       mode=row.mode, status=status, result=result, started_at=row.started_at,
                                       finished_at=row.finished_at))
    if outbox is None:
        pending.write(db)
    return True


def release_lost(db: Session | Connection, execution_id: str, worker_id: str, *, error: str,
                 retry_in: timedelta) -> bool:
    """Hand an execution back after its attempt broke off on an unexpected error: queued again
    (the reaper sends it once ``retry_in`` has passed), counted as a lost attempt, the error kept."""
    check_transition(execution_id, S.RUNNING, S.QUEUED)
    released = db.execute(
        update(Execution)
        .where(Execution.id == execution_id, Execution.lease_owner == worker_id, Execution.status == S.RUNNING)
        .values(status=S.QUEUED, lease_owner=None, lease_expires_at=utcnow() + retry_in,
                lost_attempts=Execution.lost_attempts + 1, last_attempt_error=error[:MAX_ATTEMPT_ERROR]))
    return bool(released.rowcount)


MAX_ATTEMPT_ERROR = 2000  # characters of the last lost attempt's error kept on the row


def give_up(db: Session | Connection, execution_id: str, worker_id: str, claimed: Claimed) -> dict:
    """Fail an execution whose attempts keep breaking off (the caller holds its lease); returns the error."""
    last = claimed.last_attempt_error or "none was reported"
    error = {"node": None, "item_index": None,
             "message": f"gave up after {claimed.lost_attempts} attempts: the worker running it stopped or crashed "
                        f"each time; last error: {last}"}
    finish(db, execution_id, worker_id, status=S.FAILED, error=error)
    return error


def cancel(session: Session, execution: Execution) -> None:
    transition(execution, S.CANCELLED)
    execution.finished_at = utcnow()
    execution.lease_owner = execution.lease_expires_at = execution.resume_at = None
    emit(session, "execution.events", execution.id, _event(execution, "execution.cancelled"))


def trigger_fired(session: Session | Connection, execution: Execution, kind: str, node_id: str | None = None) -> None:
    """A `trigger.fired` event on workflow.triggers for a new execution of a saved workflow."""
    if execution.workflow_id is not None:
        emit(session, "workflow.triggers", execution.workflow_id, {
            "type": "trigger.fired", "workflow_id": execution.workflow_id, "team_id": execution.team_id,
            "firings": [{"execution_id": execution.id, "kind": kind, "node_id": node_id}]})


def _event(execution: Execution, kind: str) -> dict:
    return {"type": kind, "execution_id": execution.id, "workflow_id": execution.workflow_id,
            "team_id": execution.team_id, "mode": execution.mode, "status": execution.status,
            "error": event_error(execution.error)}
