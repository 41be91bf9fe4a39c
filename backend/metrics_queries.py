"""The backlog a scrape reads from the database: a handful of indexed aggregates, no row is loaded."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select

from backend.admin.queues import PENDING, RedisQueue, redis_queues
from backend.db.base import utcnow
from backend.db.session import session_scope
from backend.events.models import OutboxEvent
from backend.executions.models import Execution
from backend.executions.models import ExecutionStatus as S
from backend.settings import get_settings


@dataclass(frozen=True)
class Backlog:
    executions: dict[str, int]  # queued / running / waiting
    queued: int
    oldest_queued_s: float
    outbox: int
    oldest_outbox_s: float
    redis: list[RedisQueue] | None


def read_backlog() -> Backlog:
    now = utcnow()
    with session_scope() as session:
        counts = dict(session.execute(select(Execution.status, func.count())
                                      .where(Execution.status.in_(PENDING)).group_by(Execution.status)).all())
        oldest_queued = session.scalar(select(func.min(Execution.created_at)).where(Execution.status == S.QUEUED))
        outbox, oldest_outbox = session.execute(
            select(func.count(), func.min(OutboxEvent.created_at)).where(OutboxEvent.published_at.is_(None))).one()
    return Backlog(executions={status.value: counts.get(status.value, 0) for status in PENDING},
                   queued=counts.get(S.QUEUED.value, 0), oldest_queued_s=_age(now, oldest_queued),
                   outbox=outbox, oldest_outbox_s=_age(now, oldest_outbox),
                   redis=redis_queues(get_settings()))


def _age(now, then) -> float:
    if then is None:
        return 0.0
    if then.tzinfo is None:  # SQLite hands back naive UTC
        then = then.replace(tzinfo=now.tzinfo)
    return max((now - then).total_seconds(), 0.0)
