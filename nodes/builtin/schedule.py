"""The Schedule trigger: a cron expression starts the workflow."""

from __future__ import annotations

from datetime import datetime
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import croniter
from pydantic import Field, field_validator

from nodes.sdk import Node, NodeParameters, TriggerSpec


class ScheduleParameters(NodeParameters):
    cron: str = Field(
        description="Cron expression: 5 fields 'minute hour day month weekday' (e.g. '*/15 * * * *'), "
        "or 6 fields with seconds first ('0 */5 * * * *')",
        json_schema_extra={"examples": ["0 9 * * 1-5"]},
    )
    timezone: str = Field("UTC", description="IANA time zone the cron is read in, e.g. 'Europe/Berlin'")
    misfire_policy: Literal["skip", "run_once", "run_all"] = Field(
        "run_once",
        description="Runs missed while the scheduler was down: forget them, run one catch-up, or run each",
    )
    overlap_policy: Literal["skip", "queue", "allow"] = Field(
        "skip",
        description="When the previous run is still going: skip this one, queue it, or run both at once",
    )

    @field_validator("cron")
    @classmethod
    def _valid_cron(cls, value: str) -> str:
        expression = " ".join(value.split())
        fields = len(expression.split(" "))
        if fields not in (5, 6) or not croniter.is_valid(expression, second_at_beginning=fields == 6):
            raise ValueError(
                f"{value!r} is not a valid cron expression: use 5 fields 'minute hour day month weekday' "
                "such as '*/15 * * * *', or 6 with seconds first such as '0 */5 * * * *'"
            )
        return expression

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r}: use an IANA name such as 'Europe/Berlin' or 'UTC'") from None
        return value

    def next_run(self, after: datetime) -> datetime:
        """The first fire time after ``after``, in this schedule's time zone (for the scheduler).

        Example: ``ScheduleParameters(cron="0 9 * * *").next_run(datetime(2026, 1, 15, 12, tzinfo=UTC))``
        is 2026-01-16 09:00 UTC. Six-field crons have seconds first.
        """
        start = after.astimezone(ZoneInfo(self.timezone))
        seconds_first = len(self.cron.split(" ")) == 6
        return croniter(self.cron, start, second_at_beginning=seconds_first).get_next(datetime)


class Schedule(Node):
    type = "schedule"
    display_name = "Schedule"
    group = "trigger"
    side_effects = False
    icon = "clock"
    description = "Starts the workflow on a cron schedule."
    inputs = ()
    trigger = TriggerSpec(kind="schedule")
    Parameters = ScheduleParameters

    async def execute(self, ctx, items):
        # The scheduler may hand over items (e.g. the planned fire time); without any, say when it fired.
        if any(item.get("json") or item.get("binary") for item in items):
            return items
        return [{"json": {"timestamp": ctx.now().isoformat()}}]
