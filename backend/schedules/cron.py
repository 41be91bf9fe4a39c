"""Cron expressions read in an IANA time zone, with the daylight-saving rules of ISC (Vixie) cron.

Fire times are computed on the local wall clock and then turned into instants. Two kinds of
wall time need a rule, and cron(8) has had one for decades, which we follow:

* **Fixed-time schedules** (the minute and hour fields are both fixed, e.g. ``30 2 * * *``):

  - a wall time that does not exist (spring forward: 02:30 on 2026-03-08 in New York) runs
    once, at the end of the gap (03:00 local);
  - a wall time that happens twice (fall back: 01:30 on 2026-11-01 in New York) runs once,
    at its first occurrence.

* **Interval schedules** (the minute or the hour field starts with ``*``, e.g. ``*/15 * * * *``,
  ``0 * * * *``, ``* * * * * *``) follow elapsed time: wall times that do not exist are
  skipped, and wall times that happen twice run both times, so "every 15 minutes" stays
  every 15 minutes across the change.

A schedule never fires twice at the same instant: several fixed times inside one gap
(``0,30 2 * * *``) collapse into the one run at the end of the gap.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import croniter

from backend.errors import UserError

MAX_WALL_TIMES = 100_000  # per search: a year of minutes is 525,600, but a match is never that far


class InvalidSchedule(UserError):
    code = "invalid_schedule"
    status_code = 422


@dataclass(frozen=True)
class Cron:
    """``Cron("30 2 * * *", "Europe/Berlin").next_after(instant)``: the next fire time, in UTC."""

    expression: str
    timezone: str = "UTC"
    _tz: ZoneInfo = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        expression = " ".join(self.expression.split())
        fields = expression.split(" ")
        if len(fields) not in (5, 6) or not croniter.is_valid(expression, second_at_beginning=len(fields) == 6):
            raise InvalidSchedule(f"{self.expression!r} is not a valid cron expression: use 5 fields "
                                  "'minute hour day month weekday' such as '*/15 * * * *', or 6 with seconds "
                                  "first such as '0 */5 * * * *'")
        try:
            tz = ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise InvalidSchedule(f"unknown time zone {self.timezone!r}: use an IANA name such as "
                                  "'Europe/Berlin' or 'UTC'") from None
        object.__setattr__(self, "expression", expression)
        object.__setattr__(self, "_tz", tz)

    @property
    def has_seconds(self) -> bool:
        return len(self.expression.split(" ")) == 6

    @property
    def is_interval(self) -> bool:
        """cron(8)'s "wildcard job": the minute or the hour field starts with ``*``."""
        fields = self.expression.split(" ")[1:3] if self.has_seconds else self.expression.split(" ")[0:2]
        return any(f.startswith("*") for f in fields)

    def next_after(self, after: datetime) -> datetime:
        """The first fire time strictly after the instant ``after`` (aware), as an aware UTC datetime."""
        local = after.astimezone(self._tz)
        wall = local.replace(tzinfo=None, fold=0)
        candidates = []
        if self.is_interval and local.fold == 0 and _is_repeated(wall, self._tz):
            # Inside the first pass of a repeated hour: the second pass is still ahead of us.
            candidates += self._second_pass_after(local, after)
        for w in self._walls_after(wall):
            later = [instant for instant in self._instants(w) if instant > after]
            if later:
                candidates.append(min(later))
                break
        return min(candidates)

    def fire_times(self, after: datetime, until: datetime, limit: int) -> list[datetime]:
        """Fire times in (after, until], oldest first, at most ``limit`` of them."""
        times: list[datetime] = []
        current = after
        while len(times) < limit:
            current = self.next_after(current)
            if current > until:
                break
            times.append(current)
        return times

    def last_at_or_before(self, instant: datetime, *, not_before: datetime) -> datetime | None:
        """The latest fire time in [not_before, instant], searched backwards in growing windows."""
        window = timedelta(minutes=1)
        while True:
            start = max(instant - window, not_before - timedelta(microseconds=1))
            last, current = None, start
            while (current := self.next_after(current)) <= instant:
                last = current
            if last is not None or start > instant - window:  # found, or searched back to not_before
                return last
            window *= 4

    def _walls_after(self, wall: datetime) -> Iterator[datetime]:
        it = croniter(self.expression, wall, second_at_beginning=self.has_seconds)
        for _ in range(MAX_WALL_TIMES):
            yield it.get_next(datetime)
        raise InvalidSchedule(f"cron {self.expression!r} has no fire time within {MAX_WALL_TIMES} matches")

    def _instants(self, wall: datetime) -> list[datetime]:
        """The instants a wall-clock fire time stands for, under the rules in the module docstring."""
        first = wall.replace(tzinfo=self._tz, fold=0)
        second = wall.replace(tzinfo=self._tz, fold=1)
        if _exists(wall, self._tz):
            if first.utcoffset() == second.utcoffset() or not self.is_interval:
                return [first.astimezone(UTC)]
            return [first.astimezone(UTC), second.astimezone(UTC)]
        if self.is_interval:
            return []
        # fold=1 reads the missing time with the offset after the change, fold=0 with the one before.
        return [_transition(second.astimezone(UTC), first.astimezone(UTC), self._tz)]

    def _second_pass_after(self, local: datetime, after: datetime) -> list[datetime]:
        change = _transition(after, local.replace(fold=1).astimezone(UTC), self._tz)
        repeat_start = change.astimezone(self._tz).replace(tzinfo=None, fold=0)
        for w in self._walls_after(repeat_start - timedelta(microseconds=1)):
            if not _is_repeated(w, self._tz):
                return []  # the next matching wall time is past the repeated hour: the main search has it
            second = w.replace(tzinfo=self._tz, fold=1).astimezone(UTC)
            if second > after:
                return [second]
        return []


def _exists(wall: datetime, tz: ZoneInfo) -> bool:
    return wall.replace(tzinfo=tz, fold=0).astimezone(UTC).astimezone(tz).replace(tzinfo=None) == wall


def _is_repeated(wall: datetime, tz: ZoneInfo) -> bool:
    first, second = wall.replace(tzinfo=tz, fold=0), wall.replace(tzinfo=tz, fold=1)
    return first.utcoffset() != second.utcoffset() and _exists(wall, tz)


def _transition(low: datetime, high: datetime, tz: ZoneInfo) -> datetime:
    """The instant in (low, high] where the UTC offset of ``tz`` changes, to the second."""
    offset_before = low.astimezone(tz).utcoffset()
    lo, hi = int(low.timestamp()), int(high.timestamp())
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if datetime.fromtimestamp(mid, tz).utcoffset() == offset_before:
            lo = mid
        else:
            hi = mid
    return datetime.fromtimestamp(hi, UTC)
