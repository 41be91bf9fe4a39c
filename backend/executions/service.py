"""Executions: create, claim with a lease, finish, cancel. The only writer of their rows."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from backend.db.base import utcnow
from backend.events.outbox import emit
from backend.executions.models import Execution
from backend.executions.models import ExecutionStatus as S
from backend.executions.state import FINISHED, check_transition, transition
from backend.settings import get_settings


def lease() -> timedelta:
    return timedelta(seconds=get_settings().queue.lease_seconds)


def create_execution(session: Session, *, team_id: str, definition: dict, mode: str = "manual",
                     input_items: list | None = None, workflow_id: str | None = None,
                     version_id: str | None = None, retry_of_id: str | None = None,
                     parent_execution_id: str | None = None) -> Execution:
    """A queued execution; dispatch its id after the transaction commits."""
    execution = Execution(team_id=team_id, workflow_id=workflow_id, version_id=version_id,
                          definition=definition, mode=mode, input=input_items or [],
                          retry_of_id=retry_of_id, parent_execution_id=parent_execution_id)
    session.add(execution)
    session.flush()
    emit(session, "execution.events", execution.id, _event(execution, "execution.queued"))
    return execution


def claim(session: Session, execution_id: str, worker_id: str) -> Execution | None:
    """Take the lease if the execution is runnable now; None if another worker has it or it is done."""
    execution = session.get(Execution, execution_id)
    now = utcnow()
    if execution is None or not _claimable(execution, now):
        return None
    previous = execution.status
    check_transition(execution.id, previous, S.RUNNING)
    claimed = session.execute(
        update(Execution)
        .where(Execution.id == execution_id, Execution.status == previous,
               # a queued row's lease column only marks when the reaper re-sent it
               or_(Execution.status == S.QUEUED, Execution.lease_expires_at.is_(None),
                   Execution.lease_expires_at < now))
        .values(status=S.RUNNING, lease_owner=worker_id, lease_expires_at=now + lease(),
                attempts=Execution.attempts + 1, started_at=execution.started_at or now)
        .execution_options(synchronize_session=False)
    ).rowcount
    if claimed != 1:
        session.rollback()
        return None
    session.refresh(execution)
    return execution


def _claimable(execution: Execution, now) -> bool:
    if execution.status == S.QUEUED:
        return True
    if execution.status == S.WAITING:
        return execution.resume_at is not None and execution.resume_at <= now
    if execution.status == S.RUNNING:
        return execution.lease_expires_at is not None and execution.lease_expires_at < now
    return False


def renew_lease(session: Session, execution_id: str, worker_id: str) -> str | None:
    """Extend the lease; returns the current status, or None when the lease is no longer ours."""
    renewed = session.execute(
        update(Execution)
        .where(Execution.id == execution_id, Execution.lease_owner == worker_id, Execution.status == S.RUNNING)
        .values(lease_expires_at=utcnow() + lease())
    ).rowcount
    if renewed:
        return S.RUNNING
    return session.scalar(select(Execution.status).where(Execution.id == execution_id))


def finish(session: Session, execution_id: str, worker_id: str, *, status: S, output: list | None = None,
           error: dict | None = None, resume_at=None) -> bool:
    """Record the outcome if we still hold the lease (a cancel or a lost lease wins)."""
    execution = session.get(Execution, execution_id, with_for_update=True)
    if execution is None or execution.lease_owner != worker_id or execution.status != S.RUNNING:
        return False
    transition(execution, status)
    execution.output, execution.error = output, error
    execution.lease_owner = execution.lease_expires_at = None
    execution.resume_at = resume_at
    if status in FINISHED:
        execution.finished_at = utcnow()
    emit(session, "execution.events", execution.id, _event(execution, f"execution.{status}"))
    return True


def cancel(session: Session, execution: Execution) -> None:
    transition(execution, S.CANCELLED)
    execution.finished_at = utcnow()
    execution.lease_owner = execution.lease_expires_at = execution.resume_at = None
    emit(session, "execution.events", execution.id, _event(execution, "execution.cancelled"))


def _event(execution: Execution, kind: str) -> dict:
    return {"type": kind, "execution_id": execution.id, "workflow_id": execution.workflow_id,
            "team_id": execution.team_id, "mode": execution.mode, "status": execution.status,
            "error": execution.error}
