from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from nodes.builtin.schedule import Schedule, ScheduleParameters
from nodes.sdk.testing import run_node


@pytest.mark.parametrize("items", [[], [{"json": {}}]])
async def test_emits_the_fire_time_when_started_without_data(items):
    out = await run_node(Schedule, items, params={"cron": "*/5 * * * *"})
    assert out["main"] == [{"json": {"timestamp": "2026-01-15T12:00:00+00:00"}}]


async def test_passes_given_items_on():
    assert (await run_node(Schedule, [{"json": {"a": 1}}], params={"cron": "* * * * *"}))["main"] == [{"json": {"a": 1}}]


@pytest.mark.parametrize("cron", ["61 * * * *", "* * *", "every day", "* * * * * * *"])
def test_bad_cron_has_a_clear_message(cron):
    with pytest.raises(ValidationError, match="not a valid cron expression: use 5 fields"):
        ScheduleParameters(cron=cron)


def test_unknown_timezone_is_refused():
    with pytest.raises(ValidationError, match="unknown time zone 'Mars/Olympus'"):
        ScheduleParameters(cron="* * * * *", timezone="Mars/Olympus")


def test_next_run_uses_the_time_zone():
    params = ScheduleParameters(cron="0 9 * * *", timezone="Europe/Berlin")
    nxt = params.next_run(datetime(2026, 1, 15, 12, tzinfo=UTC))
    assert nxt.astimezone(UTC) == datetime(2026, 1, 16, 8, tzinfo=UTC)


def test_six_fields_put_seconds_first():
    params = ScheduleParameters(cron="30 * * * * *")
    assert params.next_run(datetime(2026, 1, 15, 12, tzinfo=UTC)) == datetime(2026, 1, 15, 12, 0, 30, tzinfo=UTC)


def test_policies_have_defaults_and_choices():
    params = ScheduleParameters(cron="* * * * *")
    assert (params.misfire_policy, params.overlap_policy) == ("run_once", "skip")
    with pytest.raises(ValidationError):
        ScheduleParameters(cron="* * * * *", overlap_policy="sometimes")
