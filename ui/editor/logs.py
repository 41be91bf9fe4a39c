"""The editor's logs panel and executions tab, as plain rows.

``timeline``: the current run's node steps in the order they ran, each with when it started
(relative to the run), how long it took, its items and its error, and where its bar sits on a
shared time axis. ``execution_rows``: this workflow's past runs, with an id part that tells
them apart (time-ordered ids share their first characters).
"""

from __future__ import annotations

from datetime import datetime

from ui.executions.view import duration, error_text, step_rows

SHORT_ID = 8


def _moment(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        return datetime.fromisoformat(str(text).replace("Z", "+00:00"))
    except ValueError:
        return None


def timeline(steps: list[dict]) -> list[dict[str, str]]:
    starts = [_moment(s.get("started_at")) for s in steps]
    ends = [_moment(s.get("finished_at")) for s in steps]
    known = [m for m in starts if m is not None]
    origin = min(known) if known else None
    last = max([m for m in ends + starts if m is not None], default=origin)
    span = max((last - origin).total_seconds() * 1000, 1.0) if origin and last else 1.0
    rows = []
    for step, row, start, end in zip(steps, step_rows(steps), starts, ends, strict=True):
        offset = (start - origin).total_seconds() * 1000 if start and origin else 0.0
        took = (end - start).total_seconds() * 1000 if start and end else float(step.get("duration_ms") or 0)
        rows.append({**row, "start": f"+{duration(offset)}",
                     "items": f"{row['items']} item{'s' if row['items'] != '1' else ''}",
                     "error": error_text(step.get("error")) if step.get("error") else "",
                     "bar_left": f"{min(offset / span * 100, 100):.1f}%",
                     "bar_width": f"{max(min(took / span * 100, 100), 1.5):.1f}%"})
    return rows


def short_id(execution_id: str) -> str:
    """The distinguishing end of a time-ordered id (its start is the time, shared by neighbours)."""
    return execution_id[-SHORT_ID:]


def execution_rows(items: list[dict]) -> list[dict[str, str]]:
    rows = []
    for item in items:
        started = _moment(item.get("started_at") or item.get("created_at"))
        rows.append({"id": item["id"], "short_id": short_id(item["id"]), "status": item["status"],
                     "mode": item.get("mode") or "", "started": started.strftime("%Y-%m-%d %H:%M:%S") if started else "",
                     "duration": duration(item.get("duration_ms")), "error": str(item.get("error") or "")})
    return rows
