"""Usage metering: every execution counted once, per team and billing period, from execution events.

An execution's events (queued, succeeded, ... or ``execution.unsaved`` for a run that saved no
row) arrive at least once, in any number. The first one inserts a ``usage_records`` row keyed
by the execution id and adds one to the period's counter in the same transaction; every later
one finds the row and changes nothing. So a consumer killed anywhere counts the execution once:
before the commit nothing happened, after it the redelivery is a no-op.

Executions past the plan's included ones are marked ``overage`` when the plan bills overage; the
reporter (reporting.py) sends those to Stripe. Crossing 80 % and 100 % tells the owners.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from backend.billing.gate import EXECUTIONS, UNCOUNTED_MODES
from backend.billing.models import Usage, UsageRecord
from backend.billing.notices import record_for_owners, usage_notices
from backend.billing.plans import TeamPlan, team_plan
from backend.db.base import new_id, utcnow
from backend.db.session import session_scope
from backend.notifications import once


@dataclass(frozen=True, slots=True)
class Metered:
    plan: TeamPlan
    seq: int  # the period's count with this execution
    overage: bool


def meter_event(payload: dict) -> Metered | None:
    """Count the execution an ``execution.events`` payload is about (every one an ``execution.unsaved``
    event lists); the last newly counted, or None if all were counted already (or are not counted: a
    sub-workflow or error-workflow run, or a team that no longer exists)."""
    runs = payload.get("executions") if isinstance(payload.get("executions"), list) else [payload]
    occurred_at = _moment(payload.get("occurred_at"))
    metered, mails = None, []
    with session_scope() as session:
        for run in runs:
            execution_id, team_id = run.get("execution_id"), run.get("team_id")
            mode = str(run.get("mode") or "")[:16]
            if not isinstance(execution_id, str) or not isinstance(team_id, str) or mode in UNCOUNTED_MODES:
                continue
            counted = record(session, execution_id, team_id, mode, occurred_at)
            if counted is not None:
                metered = counted
                mails += record_for_owners(session, usage_notices(counted.plan, counted.seq - 1, counted.seq))
    once.deliver(mails)
    return metered


def record(session: Session, execution_id: str, team_id: str, mode: str, occurred_at: datetime) -> Metered | None:
    plan = team_plan(session, team_id, occurred_at)
    if plan is None:
        return None
    insert = _insert(session)
    created = session.execute(insert(UsageRecord).values(
        execution_id=execution_id, team_id=team_id, period=plan.period.key, seq=0, mode=mode, overage=False,
        occurred_at=occurred_at, counted_at=utcnow()).on_conflict_do_nothing(index_elements=["execution_id"])
        .returning(UsageRecord.execution_id)).first()
    if created is None:  # counted before (RETURNING: psycopg gives no row count for ON CONFLICT here)
        return None
    seq = session.execute(
        insert(Usage).values(id=new_id(), team_id=team_id, period=plan.period.key, metric=EXECUTIONS, quantity=1)
        .on_conflict_do_update(index_elements=["team_id", "period", "metric"], set_={"quantity": Usage.quantity + 1})
        .returning(Usage.quantity)).scalar_one()
    included = plan.limits.executions
    overage = plan.bills_overage and included is not None and seq > included
    session.execute(update(UsageRecord).where(UsageRecord.execution_id == execution_id)
                    .values(seq=seq, overage=overage).execution_options(synchronize_session=False))
    return Metered(plan, seq, overage)


def _insert(session: Session):
    return {"postgresql": postgresql.insert, "sqlite": sqlite.insert}[session.get_bind().dialect.name]


def _moment(value: object) -> datetime:
    try:
        moment = datetime.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        moment = None
    return moment if moment is not None and moment.tzinfo is not None else utcnow()
