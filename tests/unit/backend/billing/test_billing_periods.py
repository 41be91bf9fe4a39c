from datetime import UTC, datetime

from backend.billing.periods import add_months, calendar_month, period_at


def at(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


def test_without_a_stripe_period_usage_counts_calendar_months_in_utc():
    period = period_at(at(2026, 12, 31, 23, 59), None, None, "month")
    assert (period.start, period.end, period.key) == (at(2026, 12, 1), at(2027, 1, 1), "2026-12-01T00:00:00Z")
    assert calendar_month(at(2027, 2, 10)).end == at(2027, 3, 1)


def test_a_moment_outside_stripes_period_falls_in_the_period_before_or_after_it():
    start, end = at(2026, 1, 31, 10), at(2026, 2, 28, 10)
    assert period_at(at(2026, 2, 1), start, end, "month").start == start
    following = period_at(at(2026, 3, 5), start, end, "month")
    assert (following.start, following.end) == (at(2026, 2, 28, 10), at(2026, 3, 31, 10)), "back to the 31st"
    before = period_at(at(2026, 1, 2), start, end, "month")
    assert (before.start, before.end) == (at(2025, 12, 31, 10), start)
    yearly = period_at(at(2028, 6, 1), at(2026, 3, 1), at(2027, 3, 1), "year")
    assert (yearly.start, yearly.end) == (at(2028, 3, 1), at(2029, 3, 1))


def test_adding_months_clamps_to_the_last_day_and_keeps_the_anchor_day():
    assert add_months(at(2026, 1, 31), 1) == at(2026, 2, 28)
    assert add_months(at(2026, 2, 28), 1, anchor_day=31) == at(2026, 3, 31)
    assert add_months(at(2026, 1, 15), -2) == at(2025, 11, 15)
