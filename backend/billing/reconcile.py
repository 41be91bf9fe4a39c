"""`linkflow billing reconcile`: compare what was run, counted and billed in a period, and repair.

For each team, in the period containing ``at`` (default now):

1. executions that ran but were never metered (e.g. their events were dead-lettered) are metered
   now, exactly as the consumer would (keyed by execution id: running this twice counts nothing twice);
2. the period's counter is set to the number of metered executions, if they differ;
3. overage not yet reported is reported (reporting.py), unsent reports are sent;
4. what Stripe's meter added up for the customer is compared with the reports it acknowledged;
   if Stripe has less, one correction event for the difference goes out (its identifier names the
   period and the total, so a second run sends nothing new). Stripe having more is only reported:
   LinkFlow never takes billed usage back by itself.

With ``repair=False`` nothing is changed and the same differences are reported.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime

from sqlalchemy import func, select, update

from backend.billing import stripe_api
from backend.billing.gate import EXECUTIONS, UNCOUNTED_MODES
from backend.billing.metering import record
from backend.billing.models import Usage, UsageRecord
from backend.billing.plans import team_plan
from backend.billing.reporting import report_overage, reported_total
from backend.db.base import utcnow
from backend.db.session import session_scope
from backend.errors import UserError
from backend.executions.models import Execution
from backend.users.models import Team

MAX_BACKFILL = 100_000  # executions per team per run


@dataclass
class TeamReport:
    team_id: str
    period: str
    executions: int  # rows in the executions table for the period (retention may have deleted some)
    unmetered: int  # of those, never metered
    counter: int  # the counter before
    metered: int  # usage_records of the period
    reported: int  # overage in reports Stripe acknowledged
    stripe: int | None  # what Stripe's meter says (None: no customer, or no meter for our event)
    repaired: list[str]

    def as_dict(self) -> dict:
        return asdict(self)


def reconcile(*, team_id: str | None = None, at: datetime | None = None, repair: bool = True) -> list[TeamReport]:
    at = at or utcnow()
    with session_scope() as session:
        teams = [team_id] if team_id else list(session.scalars(select(Team.id).order_by(Team.id)))
    reports = [r for r in (_team(team, at, repair) for team in teams) if r is not None]
    if repair:
        report_overage()
    for team_report in reports:
        _compare_with_stripe(team_report, at, repair)
    return reports


def _team(team_id: str, at: datetime, repair: bool) -> TeamReport | None:
    with session_scope() as session:
        plan = team_plan(session, team_id, at)
        if plan is None:
            return None
        period = plan.period
        in_period = (Execution.team_id == team_id, Execution.created_at >= period.start,
                     Execution.created_at < period.end, Execution.mode.not_in(UNCOUNTED_MODES))
        executions = session.scalar(select(func.count()).select_from(Execution).where(*in_period)) or 0
        missing = list(session.execute(
            select(Execution.id, Execution.mode, Execution.created_at).where(
                *in_period, ~select(UsageRecord.execution_id).where(UsageRecord.execution_id == Execution.id)
                .exists()).order_by(Execution.created_at).limit(MAX_BACKFILL)))
        counter = _counter(session, team_id, period.key)
        report = TeamReport(team_id, period.key, executions, len(missing), counter, 0, 0, None, [])
        if repair:
            for execution_id, mode, created_at in missing:
                record(session, execution_id, team_id, mode, created_at)
            if missing:
                report.repaired.append(f"metered {len(missing)} execution(s) that had not been counted")
        session.flush()
        report.metered = session.scalar(select(func.count()).select_from(UsageRecord).where(
            UsageRecord.team_id == team_id, UsageRecord.period == period.key)) or 0
        now_counter = _counter(session, team_id, period.key)
        if now_counter != report.metered and repair:
            session.execute(update(Usage).where(Usage.team_id == team_id, Usage.period == period.key,
                                                Usage.metric == EXECUTIONS).values(quantity=report.metered))
            report.repaired.append(f"counter {now_counter} → {report.metered}")
    return report


def _counter(session, team_id: str, period: str) -> int:
    return session.scalar(select(Usage.quantity).where(Usage.team_id == team_id, Usage.period == period,
                                                       Usage.metric == EXECUTIONS)) or 0


def _compare_with_stripe(report: TeamReport, at: datetime, repair: bool) -> None:
    with session_scope() as session:
        plan = team_plan(session, report.team_id, at)
        report.reported = reported_total(session, report.team_id, report.period)
    if plan is None or plan.customer_id is None:
        return
    try:
        report.stripe = stripe_api.meter_totals(plan.customer_id, plan.period.start, plan.period.end)
    except UserError as exc:
        report.repaired.append(f"Stripe's meter could not be read: {exc.message}")
        return
    if report.stripe is None or report.stripe >= report.reported:
        if report.stripe is not None and report.stripe > report.reported:
            report.repaired.append(f"Stripe counted {report.stripe - report.reported} more than LinkFlow reported; "
                                   "check the meter's events in Stripe (not changed)")
        return
    if repair:
        missing = report.reported - report.stripe
        identifier = f"reconcile-{report.team_id}-{report.period}-{report.reported}"[:100]
        stripe_api.send_meter_event(identifier=identifier, customer_id=plan.customer_id, quantity=missing, at=at)
        report.repaired.append(f"sent {missing} overage execution(s) Stripe had not counted")
