"""Insights as the page shows it: the period asked for, the totals with their change, chart points and rows."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from ui.executions.view import duration

# period: (granularity, number of periods); the current period (hour or UTC day) is the last one
PERIODS = {"24h": ("hour", 24), "7d": ("day", 7), "30d": ("day", 30)}
PERIOD_NAMES = {"24h": "previous 24 hours", "7d": "previous 7 days", "30d": "previous 30 days"}
SORTS = ("executions", "failures", "failure_rate", "average_ms", "p95_ms", "time_saved_minutes", "name")


def query(period: str, now: datetime) -> dict[str, str]:
    """since/until/granularity for a period: whole hours or UTC days, the current one included."""
    granularity, count = PERIODS.get(period, PERIODS["7d"])
    now = now.astimezone(UTC)
    start = now.replace(minute=0, second=0, microsecond=0)
    if granularity == "day":
        start = start.replace(hour=0)
    step = timedelta(hours=1) if granularity == "hour" else timedelta(days=1)
    return {"since": (start - step * (count - 1)).isoformat(), "until": now.isoformat(), "granularity": granularity}


def minutes(value: float | None) -> str:
    """Time saved as '45 min', '3.5 h' or '12 d'."""
    if not value:
        return "0 min"
    if value < 60:
        return f"{value:g} min" if value == int(value) else f"{value:.1f} min"
    hours = value / 60
    return f"{hours:.1f} h" if hours < 48 else f"{hours / 24:.1f} d"


def percent(value: float | None) -> str:
    return "" if value is None else f"{value * 100:.1f} %"


def _change(change: float | None, *, points: bool = False, worse_when_up: bool = False) -> tuple[str, str]:
    """('+12 %', tone) where tone is green (better), red (worse) or gray (same, or nothing to compare)."""
    if change is None:
        return "", "gray"
    text = f"{change * 100:+.1f} pp" if points else f"{change * 100:+.0f} %"
    if abs(change) < 0.0005:
        return text, "gray"
    better = (change < 0) if worse_when_up else (change > 0)
    return text, "green" if better else "red"


def cards(summary: dict) -> list[dict[str, str]]:
    """The totals row: label, value, change against the previous period and its tone."""
    change = summary.get("change") or {}
    rows = [
        ("Executions", f"{summary['executions']:,}", _change(change.get("executions")), "total-executions"),
        ("Failure rate", percent(summary["failure_rate"]),
         _change(change.get("failure_rate"), points=True, worse_when_up=True), "total-failure-rate"),
        ("Time saved", minutes(summary.get("time_saved_minutes")), _change(change.get("time_saved_minutes")),
         "total-time-saved"),
        ("Average duration", duration(summary.get("average_ms")) or "—",
         _change(change.get("average_ms"), worse_when_up=True), "total-average"),
        ("p95 duration", duration(summary.get("p95_ms")) or "—",
         _change(change.get("p95_ms"), worse_when_up=True), "total-p95"),
    ]
    return [{"label": label, "value": value, "change": text, "tone": tone, "test_id": test_id}
            for label, value, (text, tone), test_id in rows]


def chart_points(series: list[dict], granularity: str) -> list[dict]:
    label_format = "%H:00" if granularity == "hour" else "%b %d"
    points = []
    for point in series:
        at = datetime.fromisoformat(point["period_start"]).astimezone(UTC)
        points.append({"label": at.strftime(label_format), "succeeded": point.get("succeeded", 0),
                       "failed": point.get("failed", 0), "p50": point.get("p50_ms"), "p95": point.get("p95_ms")})
    return points


def workflow_name(row: dict) -> str:
    if row.get("name"):
        return row["name"]
    return "deleted workflow" if row.get("workflow_id") else "runs without a saved workflow"


def table_rows(items: list[dict]) -> list[dict[str, str]]:
    return [{"workflow_id": row.get("workflow_id") or "", "name": workflow_name(row),
             "linkable": "yes" if row.get("workflow_id") and not row.get("deleted") else "",
             "executions": f"{row['executions']:,}", "failures": f"{row['failures']:,}",
             "failure_rate": percent(row.get("failure_rate")), "average": duration(row.get("average_ms")) or "—",
             "p95": duration(row.get("p95_ms")) or "—",
             "minutes_per_run": "" if row.get("minutes_per_run") is None else f"{row['minutes_per_run']:g}",
             "time_saved": minutes(row.get("time_saved_minutes")) if row.get("minutes_per_run") is not None
             else "not set"} for row in items]


def parse_minutes(text: str) -> float | None:
    """The time-saved field: empty clears it; otherwise minutes from 0 to 10,000. ValueError says why not."""
    text = text.strip().replace(",", ".")
    if not text:
        return None
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"“{text[:20]}” is not a number of minutes; enter e.g. 5 or 2.5, or leave it empty") from None
    if not 0 <= value <= 10_000 or value != value:
        raise ValueError("minutes saved per run must be between 0 and 10,000")
    return value


def failure_rows(items: list[dict]) -> list[dict[str, str]]:
    """Where runs failed most: the node, its workflow and how often."""
    return [{"node": row.get("failed_node") or "no node named", "workflow": workflow_name(
        {"name": row.get("workflow_name"), "workflow_id": row.get("workflow_id")}),
             "count": f"{row['failures']:,}"} for row in items]
