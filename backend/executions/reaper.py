"""Finds executions that need a worker: lost messages, expired leases, waits that are over.

A queued execution nobody claimed within a lease has probably lost its message: an in-memory
broker restarted, or a worker died with the message prefetched (Redis hands those back only
after its own heartbeat timeout, a minute). It is sent again; should the first message still
be on its way, one of the two claims it and the other finds nothing to do.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import and_, or_, select, update

from backend.db.base import utcnow
from backend.db.session import session_scope
from backend.executions.models import Execution
from backend.executions.models import ExecutionStatus as S
from backend.executions.service import lease
from backend.executions.state import check_transition

BATCH = 500
LEASE_EXPIRED = ("its worker stopped renewing the lease (the process was killed, ran out of memory, or lost "
                 "the database)")


def due_executions(include_all_queued: bool = False) -> list[str]:
    """Ids to (re-)dispatch. Each is put back to queued and stamped, so the next tick skips it."""
    now, lost_after = utcnow(), lease()
    queued_cutoff = now if include_all_queued else now - lost_after
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
                .values(status=S.QUEUED, lease_owner=None, lease_expires_at=now + lost_after,
                        lost_attempts=Execution.lost_attempts + 1, last_attempt_error=LEASE_EXPIRED))
        others = [r for r in rows if r.status != S.RUNNING]
        if others:
            session.execute(
                update(Execution)
                .where(Execution.id.in_([r.id for r in others]), Execution.status.in_([r.status for r in others]))
                .values(status=S.QUEUED, lease_owner=None, lease_expires_at=now + lost_after))
    return [r.id for r in rows]


def upcoming_waits(within: timedelta) -> list[tuple[str, datetime]]:
    """Waiting executions due within ``within`` from now: (id, resume_at), for their wake-ups."""
    now = utcnow()
    query = (select(Execution.id, Execution.resume_at)
             .where(Execution.status == S.WAITING, Execution.resume_at > now, Execution.resume_at <= now + within)
             .order_by(Execution.resume_at).limit(BATCH))
    with session_scope() as session:
        return [(row.id, row.resume_at) for row in session.execute(query)]
