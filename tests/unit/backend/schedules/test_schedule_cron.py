"""Cron fire times in a time zone, across the 2026 daylight-saving changes (cron(8) rules)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from backend.schedules.cron import Cron, InvalidSchedule

NEW_YORK, BERLIN = "America/New_York", "Europe/Berlin"


def local_runs(expression: str, timezone: str, start: datetime, until: datetime) -> list[str]:
    """Local ISO fire times in (start, until]; start and until are naive local wall times."""
    tz = ZoneInfo(timezone)
    times = Cron(expression, timezone).fire_times(start.replace(tzinfo=tz), until.replace(tzinfo=tz), 1000)
    return [t.astimezone(tz).isoformat() for t in times]


def test_five_fields_are_read_in_the_schedule_time_zone():
    cron = Cron("0 9 * * 1-5", BERLIN)
    assert cron.next_after(datetime(2026, 1, 16, 12, tzinfo=UTC)) == datetime(2026, 1, 19, 8, tzinfo=UTC)


def test_six_fields_have_seconds_first():
    cron = Cron("*/20 * * * * *", "UTC")
    assert cron.fire_times(datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 1, 1, 0, 1, tzinfo=UTC), 10) == [
        datetime(2026, 1, 1, 0, 0, s, tzinfo=UTC) for s in (20, 40)] + [datetime(2026, 1, 1, 0, 1, tzinfo=UTC)]


def test_next_after_is_strictly_after():
    at = datetime(2026, 1, 1, 9, tzinfo=UTC)
    assert Cron("0 9 * * *").next_after(at) == datetime(2026, 1, 2, 9, tzinfo=UTC)


@pytest.mark.parametrize(("timezone", "day"), [(NEW_YORK, 8), (BERLIN, 29)])
def test_a_daily_time_that_does_not_exist_runs_once_at_the_end_of_the_gap(timezone, day):
    month = 3
    runs = local_runs("30 2 * * *", timezone, datetime(2026, month, day - 1, 12), datetime(2026, month, day + 1, 12))
    offset_after = "-04:00" if timezone == NEW_YORK else "+02:00"
    offset_before = "-05:00" if timezone == NEW_YORK else "+01:00"
    assert runs == [f"2026-03-{day:02d}T03:00:00{offset_after}", f"2026-03-{day + 1:02d}T02:30:00{offset_after}"]
    assert offset_before not in runs[0]


@pytest.mark.parametrize(("timezone", "day", "hour"), [(NEW_YORK, datetime(2026, 11, 1), 1),
                                                    (BERLIN, datetime(2026, 10, 25), 2)])
def test_a_daily_time_that_happens_twice_runs_once_at_its_first_occurrence(timezone, day, hour):
    runs = local_runs(f"30 {hour} * * *", timezone, day - timedelta(hours=12), day + timedelta(hours=36))
    summer = "-04:00" if timezone == NEW_YORK else "+02:00"
    winter = "-05:00" if timezone == NEW_YORK else "+01:00"
    next_day = day + timedelta(days=1)
    assert runs == [f"{day:%Y-%m-%d}T0{hour}:30:00{summer}", f"{next_day:%Y-%m-%d}T0{hour}:30:00{winter}"]


def test_several_fixed_times_in_the_gap_collapse_into_one_run():
    runs = local_runs("0,30 2 * * *", BERLIN, datetime(2026, 3, 29, 0), datetime(2026, 3, 29, 23))
    assert runs == ["2026-03-29T03:00:00+02:00"]


def test_an_interval_schedule_keeps_its_interval_on_spring_forward():
    runs = local_runs("*/30 * * * *", NEW_YORK, datetime(2026, 3, 8, 1, 0), datetime(2026, 3, 8, 4, 0))
    assert runs == ["2026-03-08T01:30:00-05:00", "2026-03-08T03:00:00-04:00", "2026-03-08T03:30:00-04:00",
                    "2026-03-08T04:00:00-04:00"]


def test_an_hourly_schedule_at_half_past_skips_the_missing_hour():
    runs = local_runs("30 * * * *", BERLIN, datetime(2026, 3, 29, 0, 0), datetime(2026, 3, 29, 4, 0))
    assert runs == ["2026-03-29T00:30:00+01:00", "2026-03-29T01:30:00+01:00", "2026-03-29T03:30:00+02:00"]


def test_an_interval_schedule_runs_through_the_repeated_hour_twice():
    runs = local_runs("*/30 * * * *", NEW_YORK, datetime(2026, 11, 1, 0, 0), datetime(2026, 11, 1, 2, 0))
    assert runs == ["2026-11-01T00:30:00-04:00", "2026-11-01T01:00:00-04:00", "2026-11-01T01:30:00-04:00",
                    "2026-11-01T01:00:00-05:00", "2026-11-01T01:30:00-05:00", "2026-11-01T02:00:00-05:00"]


@pytest.mark.parametrize(("after_utc", "expected"), [
    (datetime(2026, 10, 25, 0, 40, tzinfo=UTC), "2026-10-25T02:00:00+01:00"),  # 02:40 CEST: 02:00 comes again
    (datetime(2026, 10, 25, 1, 10, tzinfo=UTC), "2026-10-25T02:30:00+01:00"),  # 02:10 CET, second pass
])
def test_inside_the_repeated_hour_the_next_run_follows_elapsed_time(after_utc, expected):
    cron = Cron("*/30 * * * *", BERLIN)
    assert cron.next_after(after_utc).astimezone(ZoneInfo(BERLIN)).isoformat() == expected


def test_every_second_keeps_going_through_both_changes():
    cron = Cron("* * * * * *", NEW_YORK)
    for start in (datetime(2026, 3, 8, 6, 59, 55, tzinfo=UTC), datetime(2026, 11, 1, 5, 59, 55, tzinfo=UTC),
                  datetime(2026, 11, 1, 6, 59, 55, tzinfo=UTC)):
        times = cron.fire_times(start, start + timedelta(seconds=10), 100)
        assert [(t - start).total_seconds() for t in times] == [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]


def test_latest_fire_time_before_an_instant():
    cron = Cron("0 9 * * 1", "UTC")  # Mondays 09:00
    latest = cron.last_at_or_before(datetime(2026, 2, 1, tzinfo=UTC), not_before=datetime(2026, 1, 5, 9, tzinfo=UTC))
    assert latest == datetime(2026, 1, 26, 9, tzinfo=UTC)


@pytest.mark.parametrize(("expression", "timezone", "message"), [
    ("61 * * * *", "UTC", "not a valid cron expression"),
    ("* * *", "UTC", "not a valid cron expression"),
    ("* * * * *", "Mars/Olympus", "unknown time zone 'Mars/Olympus'"),
])
def test_bad_expressions_and_zones_say_what_to_use(expression, timezone, message):
    with pytest.raises(InvalidSchedule, match=message):
        Cron(expression, timezone)
