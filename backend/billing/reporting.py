"""Overage to Stripe: metered executions past the included ones become billing meter events.

Two steps, each safe to interrupt anywhere:

1. ``batch``: per team and period, the overage executions not yet reported get one new
   ``meter_reports`` row (one UPDATE claims them, so two reporters never claim the same ones).
2. ``send``: every report not yet sent goes to Stripe with its id as the meter event's
   ``identifier`` and as the idempotency key, then is marked sent.

A reporter killed between Stripe's answer and the mark sends the same report again: same
identifier, same key, so Stripe counts it once. Nothing is reported twice under two ids, and
nothing is lost: an unsent report stays until it goes.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import delete, func, select, update

from backend.billing import stripe_api
from backend.billing.models import MeterReport, Subscription, UsageRecord
from backend.db.base import new_id, utcnow
from backend.db.session import session_scope
from backend.errors import UserError

log = logging.getLogger("linkflow.billing.reporting")
MAX_REPORTS = 500  # per call; the next call goes on
MAX_AGE = timedelta(days=34)  # Stripe takes meter events up to 35 days old
MAX_ERROR_CHARS = 2000


@dataclass(frozen=True)
class ReportRun:
    batched: int  # new reports
    sent: int
    failed: int


def report_overage() -> ReportRun:
    batched = batch()
    sent = failed = 0
    for report_id in unsent():
        if send(report_id):
            sent += 1
        else:
            failed += 1
    if batched or sent or failed:
        log.info("overage reported", extra={"batched": batched, "sent": sent, "failed": failed})
    return ReportRun(batched, sent, failed)


def batch() -> int:
    with session_scope() as session:
        groups = session.execute(
            select(UsageRecord.team_id, UsageRecord.period, Subscription.stripe_customer_id)
            .join(Subscription, Subscription.team_id == UsageRecord.team_id)
            .where(UsageRecord.overage.is_(True), UsageRecord.report_id.is_(None),
                   Subscription.stripe_customer_id.is_not(None))
            .group_by(UsageRecord.team_id, UsageRecord.period, Subscription.stripe_customer_id)
            .limit(MAX_REPORTS)).all()
    made = 0
    for team_id, period, customer in groups:
        with session_scope() as session:
            report = MeterReport(id=new_id(), team_id=team_id, stripe_customer_id=customer, period=period,
                                 quantity=0)
            session.add(report)
            session.flush()
            claimed = session.execute(
                update(UsageRecord).where(UsageRecord.team_id == team_id, UsageRecord.period == period,
                                          UsageRecord.overage.is_(True), UsageRecord.report_id.is_(None))
                .values(report_id=report.id).execution_options(synchronize_session=False)).rowcount
            if claimed:
                report.quantity = claimed
                made += 1
            else:  # another reporter claimed them first
                session.execute(delete(MeterReport).where(MeterReport.id == report.id))
    return made


def unsent() -> list[str]:
    with session_scope() as session:
        return list(session.scalars(select(MeterReport.id).where(MeterReport.sent_at.is_(None))
                                    .order_by(MeterReport.created_at).limit(MAX_REPORTS)))


def send(report_id: str) -> bool:
    with session_scope() as session:
        report = session.get(MeterReport, report_id)
        if report is None or report.sent_at is not None:
            return True
        customer, quantity, created_at = report.stripe_customer_id, report.quantity, report.created_at
    at = max(created_at, utcnow() - MAX_AGE)
    try:
        stripe_api.send_meter_event(identifier=report_id, customer_id=customer, quantity=quantity, at=at)
    except UserError as exc:  # Stripe down or refusing: kept, tried again next time
        with session_scope() as session:
            session.execute(update(MeterReport).where(MeterReport.id == report_id).values(
                attempts=MeterReport.attempts + 1, last_error=exc.message[:MAX_ERROR_CHARS]))
        log.warning("meter report not sent; retried later", extra={"report_id": report_id, "error": exc.message})
        return False
    with session_scope() as session:
        session.execute(update(MeterReport).where(MeterReport.id == report_id).values(
            sent_at=utcnow(), attempts=MeterReport.attempts + 1, last_error=None))
    return True


def reported_total(session, team_id: str, period: str) -> int:
    """Overage executions of the period in reports Stripe acknowledged."""
    return session.scalar(select(func.coalesce(func.sum(MeterReport.quantity), 0)).where(
        MeterReport.team_id == team_id, MeterReport.period == period, MeterReport.sent_at.is_not(None))) or 0
