"""Deleting or retrying many executions at once, with one outcome per id.

Each id follows the single-item rules of control.py (a running execution is not deleted, an
unfinished one is not retried); one that breaks a rule is skipped with the reason and the
others go ahead. Ids of another team, or of nothing, are reported as not found and untouched.
"""

from __future__ import annotations

from collections import Counter

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.billing.limits import QuotaExceeded
from backend.errors import Conflict
from backend.executions import control
from backend.executions.models import Execution
from backend.executions.schemas import BulkOutcome, BulkResult


def bulk_delete(session: Session, team_id: str, ids: list[str]) -> BulkResult:
    """Deletes in the caller's transaction; commit, then ``control.discard_offloaded`` each deleted id."""
    found = _team_executions(session, team_id, ids)
    results = []
    for execution_id in dict.fromkeys(ids):
        execution = found.get(execution_id)
        if execution is None:
            results.append(_not_found(execution_id))
            continue
        try:
            control.delete_execution(session, execution)
        except Conflict as refused:
            results.append(BulkOutcome(id=execution_id, outcome="skipped", reason=refused.message))
            continue
        results.append(BulkOutcome(id=execution_id, outcome="deleted"))
    return _result(results)


def bulk_retry(session: Session, team_id: str, ids: list[str], *, from_failed_step: bool = False) -> BulkResult:
    """New executions in the caller's transaction; dispatch the ``execution_id``s after the commit."""
    found = _team_executions(session, team_id, ids)
    results = []
    for execution_id in dict.fromkeys(ids):
        original = found.get(execution_id)
        if original is None:
            results.append(_not_found(execution_id))
            continue
        try:
            retry = control.retry_execution(session, original, from_failed_step=from_failed_step)
        except (Conflict, QuotaExceeded) as refused:  # skipped; the others go ahead
            results.append(BulkOutcome(id=execution_id, outcome="skipped", reason=refused.message))
            continue
        results.append(BulkOutcome(id=execution_id, outcome="retried", execution_id=retry.id))
    return _result(results)


def _team_executions(session: Session, team_id: str, ids: list[str]) -> dict[str, Execution]:
    rows = session.scalars(select(Execution).where(Execution.team_id == team_id, Execution.id.in_(set(ids))))
    return {row.id: row for row in rows}


def _not_found(execution_id: str) -> BulkOutcome:
    return BulkOutcome(id=execution_id, outcome="not_found", reason=f"execution {execution_id} not found")


def _result(results: list[BulkOutcome]) -> BulkResult:
    return BulkResult(results=results, counts=dict(Counter(r.outcome for r in results)))
