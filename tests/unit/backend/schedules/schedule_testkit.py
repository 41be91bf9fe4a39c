"""Helpers of the schedule tests: a fixed "now" and a workflow started by a Schedule trigger."""

from __future__ import annotations

from datetime import UTC, datetime

T0 = datetime(2026, 5, 4, 9, 0, tzinfo=UTC)  # a Monday, far from any DST change


def schedule_definition(cron: str = "0 * * * *", *, disabled: bool = False, **policies: str) -> dict:
    trigger = {"id": "cron", "name": "Every hour", "type": "schedule", "version": 1, "position": [0, 0],
               "parameters": {"cron": cron, **policies}, "disabled": disabled}
    after = {"id": "next", "name": "Next", "type": "noop", "version": 1, "position": [1, 0]}
    return {"nodes": [trigger, after], "connections": [{"from": "cron", "to": "next"}]}
