"""The Wait node: parks the execution for a while, until a time, or until a webhook call."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Literal

from pydantic import Field, model_validator

from nodes.sdk import Node, NodeParameters, WaitRequested, show_if

Unit = Literal["seconds", "minutes", "hours", "days"]


class WaitParameters(NodeParameters):
    mode: Literal["duration", "until", "webhook"] = Field(
        "duration",
        description="duration: wait for an amount of time; until: wait for a date and time; "
        "webhook: wait until the execution's resume URL is called (send it out beforehand with the "
        "expression {{ $execution.resume_url }})",
    )
    amount: float = Field(1, ge=0, description="duration: how long to wait, in units",
                          json_schema_extra=show_if(mode=["duration"]))
    unit: Unit = Field("minutes", description="duration: the unit of amount",
                       json_schema_extra=show_if(mode=["duration"]))
    until: datetime | None = Field(
        None, description="until: ISO date and time, e.g. 2026-02-01T09:00:00+01:00 (no offset: workflow time zone)",
        json_schema_extra=show_if(mode=["until"]))

    @model_validator(mode="after")
    def _until_for_until_mode(self) -> WaitParameters:
        if self.mode == "until" and self.until is None:
            raise ValueError("mode 'until' needs the until date and time, e.g. 2026-02-01T09:00:00Z")
        return self


class Wait(Node):
    """Raises ``WaitRequested`` the first time; when the engine resumes it, passes its items on.

    Data sent to the resume webhook shows up in each item's json under ``resume``. A time
    that has already passed does not park the execution at all.
    """

    type = "wait"
    display_name = "Wait"
    group = "flow"
    side_effects = True
    icon = "hourglass"
    description = "Pauses the execution for a time, until a date, or until a webhook call resumes it."
    Parameters = WaitParameters

    async def execute(self, ctx, items):
        if ctx.resume_data is not None:
            return _resumed(items, ctx.resume_data)
        params = ctx.params(0)
        if params.mode == "webhook":
            raise WaitRequested(None, on_webhook=True)
        now = ctx.now()
        resume_at = _resume_time(params, now)
        if resume_at <= now:
            return items
        raise WaitRequested(resume_at)


def _resume_time(params: WaitParameters, now: datetime) -> datetime:
    if params.mode == "until":
        until = params.until
        return until if until.tzinfo else until.replace(tzinfo=now.tzinfo)
    return now + timedelta(**{params.unit: params.amount})


def _resumed(items: list[dict], resume_data: dict) -> list[dict]:
    if not resume_data:
        return items
    return [{**item, "json": {**item.get("json", {}), "resume": resume_data}} for item in items]
