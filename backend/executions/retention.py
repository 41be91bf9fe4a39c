"""Retention: delete finished executions past their age, and outbox events already published.

Runs from the maintenance loop (every worker, and the embedded process) a few times an hour.
Deletes go in bounded batches so no transaction holds the database for long; several workers
pruning at once only share the work (a row deleted twice is a no-op).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select

from backend.db.base import utcnow
from backend.db.session import session_scope
from backend.events.models import OutboxEvent
from backend.executions.control import discard_offloaded
from backend.executions.models import Execution
from backend.executions.state import FINISHED
from backend.settings import get_settings

log = logging.getLogger("linkflow.retention")
BATCH = 500
MAX_BATCHES = 20  # per call: at most 10,000 rows of each kind; the next call goes on


@dataclass(frozen=True)
class Pruned:
    executions: int
    outbox_events: int


def prune(now: datetime | None = None) -> Pruned:
    """Delete what the retention settings say is old enough; how many rows of each went."""
    settings, now = get_settings().executions, now or utcnow()
    executions = outbox = 0
    if settings.retention_days:
        executions = _prune_executions(now - timedelta(days=settings.retention_days))
    if settings.outbox_retention_hours:
        outbox = _prune_outbox(now - timedelta(hours=settings.outbox_retention_hours))
    if executions or outbox:
        log.info("retention pruned old rows", extra={"executions": executions, "outbox_events": outbox})
    return Pruned(executions, outbox)


def prune_team(team_id: str, before: datetime) -> int:
    """One team's finished executions older than ``before`` (a plan that keeps less history)."""
    return _prune_executions(before, team_id)


def _prune_executions(before: datetime, team_id: str | None = None) -> int:
    total = 0
    for _ in range(MAX_BATCHES):
        with session_scope() as session:
            query = (select(Execution.id, Execution.team_id)
                     .where(Execution.status.in_([str(s) for s in FINISHED]), Execution.finished_at < before))
            if team_id is not None:
                query = query.where(Execution.team_id == team_id)
            owned = list(session.execute(query.limit(BATCH)))
            ids = [execution_id for execution_id, _ in owned]
            if ids:  # steps go with them (ON DELETE CASCADE)
                session.execute(delete(Execution).where(Execution.id.in_(ids))
                                .execution_options(synchronize_session=False))
        for execution_id, owner in owned:  # stored objects only once the rows are gone for good
            _discard(owner, execution_id)
        total += len(ids)
        if len(ids) < BATCH:
            break
    return total


def _discard(team_id: str, execution_id: str) -> None:
    try:
        discard_offloaded(team_id, execution_id)
    except Exception:  # storage unreachable: the orphan sweeper removes them later
        log.warning("could not delete an execution's stored objects", exc_info=True,
                    extra={"execution_id": execution_id})


def _prune_outbox(before: datetime) -> int:
    total = 0
    for _ in range(MAX_BATCHES):
        with session_scope() as session:
            ids = list(session.scalars(
                select(OutboxEvent.id)
                .where(OutboxEvent.published_at.is_not(None), OutboxEvent.published_at < before)
                .limit(BATCH)))
            if ids:
                session.execute(delete(OutboxEvent).where(OutboxEvent.id.in_(ids))
                                .execution_options(synchronize_session=False))
        total += len(ids)
        if len(ids) < BATCH:
            break
    return total
