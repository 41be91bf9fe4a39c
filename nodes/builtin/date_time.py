"""The Date & Time node: current time, formatting, arithmetic, parsing and differences."""

from __future__ import annotations

import calendar
import copy
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, field_validator, model_validator

from nodes.builtin._fields import FieldPathError, new_item, set_field
from nodes.sdk import Node, NodeParameters, NodeUserError, show_if

Unit = Literal["seconds", "minutes", "hours", "days", "weeks", "months", "years"]
_SECONDS = {"seconds": 1, "minutes": 60, "hours": 3600, "days": 86400, "weeks": 604800}


class DateTimeParameters(NodeParameters):
    operation: Literal["now", "format", "add", "subtract", "parse", "diff"] = Field(
        "now",
        description="now: the current time; format: date as text (strftime); add/subtract: move a date; "
        "parse: text or Unix seconds to an ISO date; diff: how far 'end' is after 'value'",
    )
    value: Any = Field(None, description="The date: ISO text, Unix seconds or an expression like {{ $json.created }}",
                       json_schema_extra=show_if(operation=["format", "add", "subtract", "parse", "diff"]))
    end: Any = Field(None, description="diff: the later date", json_schema_extra=show_if(operation=["diff"]))
    amount: float = Field(0, description="add/subtract: how many units",
                          json_schema_extra=show_if(operation=["add", "subtract"]))
    unit: Unit = Field("days", description="add/subtract/diff: the unit",
                       json_schema_extra=show_if(operation=["add", "subtract", "diff"]))
    format: str = Field("%Y-%m-%d %H:%M:%S", description="format: strftime pattern of the result",
                        json_schema_extra=show_if(operation=["format"]))
    parse_format: str = Field("", description="parse: strptime pattern of the value, e.g. %d.%m.%Y; empty: ISO 8601",
                              json_schema_extra=show_if(operation=["parse"]))
    timezone: str = Field("", description="Show the result in this IANA time zone; empty: keep the date's own")
    output_field: str = Field("date", min_length=1, description="Field the result is written to")

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        if value:
            try:
                ZoneInfo(value)
            except (ZoneInfoNotFoundError, ValueError):
                raise ValueError(f"unknown time zone {value!r}: use an IANA name such as 'Europe/Berlin'") from None
        return value

    @model_validator(mode="after")
    def _inputs_for_operation(self) -> DateTimeParameters:
        if self.operation in ("format", "add", "subtract", "parse", "diff") and self.value in (None, ""):
            raise ValueError(f"operation {self.operation!r} needs a value: the date to work on")
        if self.operation == "diff" and self.end in (None, ""):
            raise ValueError("operation 'diff' needs end: the date to measure up to")
        if self.operation == "diff" and self.unit in ("months", "years"):
            raise ValueError("diff measures in seconds, minutes, hours, days or weeks; months and years vary in length")
        return self


class DateTime(Node):
    """Dates without an offset are read in the workflow's time zone (that of ``ctx.now()``)."""

    type = "datetime"
    display_name = "Date & Time"
    group = "data"
    side_effects = False
    icon = "calendar-clock"
    description = "Gets, formats, shifts, parses and compares dates."
    Parameters = DateTimeParameters

    async def execute(self, ctx, items):
        out = []
        for index, item in enumerate(items):
            params = ctx.params(index)
            try:
                result = _compute(params, ctx.now())
                data = copy.deepcopy(item.get("json", {}))
                set_field(data, params.output_field, result)
            except (ValueError, OverflowError, FieldPathError) as exc:
                raise NodeUserError(f"item {index}: {exc}", item_index=index) from None
            out.append(new_item(data, item))
        return out


def _compute(params: DateTimeParameters, now: datetime) -> Any:
    zone = now.tzinfo or UTC
    op = params.operation
    if op == "diff":
        delta = _to_datetime(params.end, zone) - _to_datetime(params.value, zone)
        return delta.total_seconds() / _SECONDS[params.unit]
    if op == "now":
        moment = now
    elif op == "parse":
        moment = _to_datetime(params.value, zone, params.parse_format)
    else:
        moment = _to_datetime(params.value, zone)
    if op in ("add", "subtract"):
        moment = _shift(moment, params.amount if op == "add" else -params.amount, params.unit)
    if params.timezone:
        moment = moment.astimezone(ZoneInfo(params.timezone))
    return moment.strftime(params.format) if op == "format" else moment.isoformat()


def _to_datetime(value: Any, zone: tzinfo, pattern: str = "") -> datetime:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return datetime.fromtimestamp(value, UTC)
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, str):
        moment = _parse_text(value.strip(), pattern)
    else:
        raise ValueError(f"{value!r} is not a date; give ISO text like 2026-01-15T12:00:00Z or Unix seconds")
    return moment if moment.tzinfo else moment.replace(tzinfo=zone)


def _parse_text(text: str, pattern: str) -> datetime:
    try:
        return datetime.strptime(text, pattern) if pattern else datetime.fromisoformat(text)
    except ValueError:
        expected = f"the pattern {pattern!r}" if pattern else "ISO 8601 such as 2026-01-15T12:00:00Z"
        raise ValueError(f"{text[:60]!r} is not a date in {expected}") from None


def _shift(moment: datetime, amount: float, unit: str) -> datetime:
    if unit in _SECONDS:
        return moment + timedelta(seconds=amount * _SECONDS[unit])
    months = round(amount * (12 if unit == "years" else 1))
    if months != amount * (12 if unit == "years" else 1):
        raise ValueError(f"{unit} can only be added in whole numbers")
    year, month = divmod(moment.month - 1 + months, 12)
    year += moment.year
    day = min(moment.day, calendar.monthrange(year, month + 1)[1])
    return moment.replace(year=year, month=month + 1, day=day)
