"""Forget what notification rules only keep to be idempotent: the evaluated (rule, event) pairs and the
deliveries older than LINKFLOW_NOTIFICATIONS_KEEP_DAYS (longer than any topic keeps an event that could
be delivered again). Runs from the maintenance loop beside the executions' retention, in bounded batches."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import delete, select

from backend.db.base import utcnow
from backend.db.session import session_scope
from backend.notifications.models import NotificationDelivery, NotificationSeen
from backend.settings import get_settings

log = logging.getLogger("linkflow.notifications")
BATCH = 1000
MAX_BATCHES = 20


def prune(now: datetime | None = None) -> int:
    """Delete the rows past their age; how many went."""
    before = (now or utcnow()) - timedelta(days=get_settings().notifications.keep_days)
    total = _prune(NotificationSeen, before) + _prune(NotificationDelivery, before)
    if total:
        log.info("notification bookkeeping pruned", extra={"rows": total})
    return total


def _prune(model, before: datetime) -> int:
    total = 0
    for _ in range(MAX_BATCHES):
        with session_scope() as session:
            ids = session.scalars(select(model.id).where(model.created_at < before).limit(BATCH)).all()
            if ids:
                session.execute(delete(model).where(model.id.in_(ids)))
        total += len(ids)
        if len(ids) < BATCH:
            break
    return total
