"""Finds executions that need a worker: lost messages, expired leases, waits that are over."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import and_, or_, select, update

from backend.db.base import utcnow
from backend.db.session import session_scope
from backend.executions.models import Execution
from backend.executions.models import ExecutionStatus as S
from backend.executions.state import check_transition

# A queued execution older than this has probably lost its message (in-memory broker restart).
LOST_MESSAGE_AFTER = timedelta(seconds=30)
BATCH = 500
LEASE_EXPIRED = ("its worker stopped renewing the lease (the process was killed, ran out of memory, or lost "
                 "the database)")


def due_executions(include_all_queued: bool = False) -> list[str]:
    """Ids to (re-)dispatch. Each is put back to queued and stamped, so the next tick skips it."""
    now = utcnow()
    queued_cutoff = now if include_all_queued else now - LOST_MESSAGE_AFTER
    lost_message = and_(Execution.status == S.QUEUED, or_(
        and_(Execution.lease_expires_at.is_(None), Execution.created_at <= queued_cutoff),
        Execution.lease_expires_at < now))
    query = (
        select(Execution.id, Execution.status)
        .where(or_(
            lost_message,
            and_(Execution.status == S.RUNNING, Execution.lease_expires_at < now),  # its worker died
            and_(Execution.status == S.WAITING, Execution.resume_at <= now),
        ))
        .order_by(Execution.created_at)
        .limit(BATCH)
    )
    with session_scope() as session:
        rows = session.execute(query).all()
        for row in rows:
            if row.status != S.QUEUED:
                check_transition(row.id, row.status, S.QUEUED)
        lost = [r.id for r in rows if r.status == S.RUNNING]
        if lost:  # its attempt is lost: counted, so an execution that kills its workers ends (worker_runtime)
            session.execute(
                update(Execution).where(Execution.id.in_(lost), Execution.status == S.RUNNING)
                .values(status=S.QUEUED, lease_owner=None, lease_expires_at=now + LOST_MESSAGE_AFTER,
                        lost_attempts=Execution.lost_attempts + 1, last_attempt_error=LEASE_EXPIRED))
        others = [r for r in rows if r.status != S.RUNNING]
        if others:
            session.execute(
                update(Execution)
                .where(Execution.id.in_([r.id for r in others]), Execution.status.in_([r.status for r in others]))
                .values(status=S.QUEUED, lease_owner=None, lease_expires_at=now + LOST_MESSAGE_AFTER))
    return [r.id for r in rows]
