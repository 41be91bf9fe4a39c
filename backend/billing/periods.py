"""Billing periods: the span usage is counted in, named by its start (``2026-12-01T00:00:00Z``).

A team without a Stripe subscription counts calendar months (UTC). A subscribed team counts
Stripe's periods: the one Stripe last told us about, rolled forward or back by whole intervals
when a moment falls outside it (an execution that happened just before a renewal event arrived
belongs to the period it happened in).
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import UTC, datetime

MONTHS = {"month": 1, "year": 12}
MAX_ROLL = 1200  # intervals; a century of monthly periods is as far as anything rolls


@dataclass(frozen=True, slots=True)
class Period:
    start: datetime
    end: datetime

    @property
    def key(self) -> str:
        return period_key(self.start)

    def contains(self, moment: datetime) -> bool:
        return self.start <= moment < self.end


def period_key(start: datetime) -> str:
    return start.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def add_months(moment: datetime, months: int, anchor_day: int | None = None) -> datetime:
    """``moment`` moved by whole months; a day past the month's end becomes its last day (Jan 31 → Feb 28),
    and ``anchor_day`` (the subscription's original day) comes back when the month is long enough."""
    month_index = moment.month - 1 + months
    year, month = moment.year + month_index // 12, month_index % 12 + 1
    day = min(anchor_day or moment.day, calendar.monthrange(year, month)[1])
    return moment.replace(year=year, month=month, day=day)


def calendar_month(moment: datetime) -> Period:
    start = moment.astimezone(UTC).replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    return Period(start, add_months(start, 1))


def period_at(moment: datetime, start: datetime | None, end: datetime | None, interval: str) -> Period:
    """The period containing ``moment``: calendar months without a known Stripe period, else Stripe's
    period rolled by whole ``interval``s until it contains ``moment``."""
    if start is None or end is None or end <= start:
        return calendar_month(moment)
    step, anchor = MONTHS.get(interval, 1), start.day
    for _ in range(MAX_ROLL):
        if moment < start:
            start, end = add_months(start, -step, anchor), start
        elif moment >= end:
            start, end = end, add_months(end, step, anchor)
        else:
            return Period(start, end)
    return calendar_month(moment)  # a period from a broken clock: fall back to months
