"""Executions as the dashboard and the detail page show them."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from typing import Any

from backend.storage.preview import kind_of

RANGES = {"1h": timedelta(hours=1), "24h": timedelta(hours=24), "7d": timedelta(days=7), "30d": timedelta(days=30)}
STATUSES = ["succeeded", "failed", "running", "queued", "waiting", "cancelled"]
MODES = ["manual", "webhook", "schedule", "trigger", "retry", "test", "subworkflow", "error"]
FINISHED = {"succeeded", "failed", "cancelled"}
MAX_TABLE_ROWS = 100
MAX_COLUMNS = 12


def when(value: str | None) -> str:
    """An API time as 'Nov 27, 14:05:09' (UTC)."""
    if not value:
        return ""
    try:
        return datetime.fromisoformat(value).astimezone(UTC).strftime("%b %d, %H:%M:%S")
    except (TypeError, ValueError):
        return str(value)


def duration(ms: int | float | None) -> str:
    if ms is None:
        return ""
    if ms < 1000:
        return f"{int(ms)} ms"
    seconds = ms / 1000
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, rest = divmod(int(seconds), 60)
    return f"{minutes} min {rest} s" if minutes < 60 else f"{minutes // 60} h {minutes % 60} min"


def workflow_label(item: dict) -> str:
    if item.get("workflow_name"):
        return item["workflow_name"]
    return "deleted workflow" if item.get("workflow_id") else "run without a saved workflow"


def list_row(item: dict) -> dict:
    name = workflow_label(item)
    return {"id": item["id"], "short_id": item["id"][-8:], "status": item["status"], "mode": item["mode"],
            "workflow": name, "started": when(item.get("started_at") or item.get("created_at")),
            "duration": duration(item.get("duration_ms")), "error": item.get("error") or ""}


def range_start(range_key: str, now: datetime) -> datetime:
    return now - RANGES.get(range_key, RANGES["24h"])


def rollup_query(range_key: str, now: datetime) -> dict[str, str]:
    """The Insights query behind the charts: whole UTC hours (1h, 24h) or days (7d, 30d) from the range's start."""
    granularity = "hour" if range_key in ("1h", "24h") else "day"
    start = range_start(range_key, now).astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    if granularity == "day":
        start = start.replace(hour=0)
    return {"since": start.isoformat(), "until": now.astimezone(UTC).isoformat(), "granularity": granularity}


def rollup_chart_rows(series: list[dict], granularity: str) -> list[dict]:
    """One row per hour or day (of the Insights summary's series) for the stacked bars and the duration lines."""
    label_format = "%H:00" if granularity == "hour" else "%b %d"
    return [{"hour": datetime.fromisoformat(point["period_start"]).astimezone(UTC).strftime(label_format),
             "succeeded": point["succeeded"], "failed": point["failed"], "p50": point["p50_ms"],
             "p95": point["p95_ms"]} for point in series]


def failing_workflows(items: list[dict], workflow_id: str = "") -> list[dict]:
    """Top failing workflows from the Insights table sorted by failures."""
    return [{"workflow_id": row["workflow_id"] or "", "count": row["failures"],
             "name": row.get("name") or ("deleted workflow" if row["workflow_id"] else "run without a saved workflow")}
            for row in items if row["failures"] and (not workflow_id or row["workflow_id"] == workflow_id)]


def failing_nodes(items: list[dict]) -> list[dict]:
    return [{"workflow_id": row["workflow_id"] or "", "count": row["failures"],
             "node_name": row["failed_node"] or "unknown node",
             "workflow_name": row.get("workflow_name") or ("deleted workflow" if row["workflow_id"]
                                                           else "run without a saved workflow")}
            for row in items]


def chart_rows(hours: list[dict], range_key: str) -> list[dict]:
    """One row per hour for the stacked bars and the duration lines."""
    label_format = "%H:00" if range_key in ("1h", "24h") else "%b %d %H:00"
    rows = []
    for hour in hours:
        at = datetime.fromisoformat(hour["hour"]).astimezone(UTC)
        rows.append({"hour": at.strftime(label_format), **{s: hour["counts"].get(s, 0) for s in STATUSES},
                     "p50": hour.get("p50_ms"), "p95": hour.get("p95_ms")})
    return rows


def outcome_toast(action: str, counts: dict[str, int], results: list[dict]) -> tuple[str, str]:
    """('success'|'warning', message) for a bulk answer."""
    done = counts.get("deleted", 0) + counts.get("retried", 0)
    parts = [f"{action} {done} execution{'s' if done != 1 else ''}"]
    skipped = [r for r in results if r["outcome"] == "skipped"]
    if skipped:
        parts.append(f"{len(skipped)} skipped ({skipped[0].get('reason') or 'not allowed'})")
    if counts.get("not_found"):
        parts.append(f"{counts['not_found']} not found")
    return ("success" if len(parts) == 1 else "warning"), "; ".join(parts)


# ---- the detail page ---------------------------------------------------------------------------

def node_runs(steps: list[dict]) -> dict[str, dict]:
    """Per node: what the canvas badge shows ({status, items, error, timing}); a loop's runs add up."""
    shown: dict[str, dict] = {}
    for step in steps:
        output = step.get("output") or {}
        items = sum(len(v) for v in output.values() if isinstance(v, list))
        previous = shown.get(step["node_id"], {"items": 0, "ms": 0})
        ms = previous["ms"] + (step.get("duration_ms") or 0)
        error = step.get("error") or {}
        shown[step["node_id"]] = {"status": step["status"], "items": previous["items"] + items, "ms": ms,
                                  "timing": duration(ms) if step.get("finished_at") else "",
                                  "error": str(error.get("message") or "") if error else ""}
    return shown


def mark_running(runs: dict[str, dict], definition: dict) -> dict[str, dict]:
    """While an execution runs, the nodes fed by a finished step that have no step yet are running
    (the engine records a step once it is done)."""
    fed = {c["to"] for c in definition.get("connections", [])
           if runs.get(c["from"], {}).get("status") == "succeeded"}
    marked = dict(runs)
    for node in definition.get("nodes", []):
        if node["id"] in fed and node["id"] not in runs and not node.get("disabled"):
            marked[node["id"]] = {"status": "running", "items": 0, "ms": 0, "timing": "", "error": ""}
    return marked


def step_rows(steps: list[dict]) -> list[dict]:
    """The steps in the order they ran, for the list beside the canvas."""
    rows = []
    for step in steps:
        output = step.get("output") or {}
        items = sum(len(v) for v in output.values() if isinstance(v, list))
        run = f" (run {step['run_index'] + 1})" if step.get("run_index") else ""
        rows.append({"node_id": step["node_id"], "name": step["node_name"] + run, "status": step["status"],
                     "items": str(items), "duration": duration(step.get("duration_ms")),
                     "error": str((step.get("error") or {}).get("message") or "")})
    return rows


def port_items(steps: list[dict], node_id: str, direction: str) -> dict[str, list]:
    """{port: items} a node took ("input") or gave ("output"), over all its runs."""
    ports: dict[str, list] = {}
    for step in steps:
        if step["node_id"] != node_id:
            continue
        data = step.get(direction)
        if not isinstance(data, dict):
            continue
        for port, items in data.items():
            if isinstance(items, list):
                ports.setdefault(port, []).extend(items)
    return ports


def items_table(items: list) -> tuple[list[str], list[list[str]]]:
    """Columns (the items' top-level JSON keys) and rows of cell text, capped for the browser."""
    columns: dict[str, None] = {}
    shown = items[:MAX_TABLE_ROWS]
    for item in shown:
        for key in _json_of(item):
            if len(columns) < MAX_COLUMNS:
                columns.setdefault(str(key), None)
    names = list(columns)
    rows = [[_cell(_json_of(item).get(name)) for name in names] for item in shown]
    return names, rows


def pretty(value: Any) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False, default=str) if value is not None else ""


def error_text(error: dict | None) -> str:
    """The message of an execution's or step's error, never a stack trace."""
    if not error:
        return ""
    message = str(error.get("message") or "failed")
    index = error.get("item_index")
    if index is not None and not re.search(rf"\bitem {index}\b", message):  # said once, not twice
        message += f" (item {index})"
    return message


def _json_of(item: Any) -> dict:
    if isinstance(item, dict) and isinstance(item.get("json"), dict):
        return item["json"]
    return item if isinstance(item, dict) else {"value": item}


def _cell(value: Any) -> str:
    if value is None:
        return ""
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= 200 else text[:199] + "…"


MAX_FILES_LISTED = 200
# Shown in the browser as an <img> (never SVG: it is a document that can carry scripts).
PREVIEW_IMAGES = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp"})


def item_files(items: list) -> list[dict[str, str]]:
    """The files the items carry (their ``binary`` references), for the data browser's file list.

    ``key`` ("<item>/<name>") names one file for the download event; references stored before the
    storage service (no ``execution_id``) cannot be linked and are left out.
    """
    files = []
    for index, item in enumerate(items):
        binary = item.get("binary") if isinstance(item, dict) else None
        for name, ref in (binary.items() if isinstance(binary, dict) else ()):
            if isinstance(ref, dict) and ref.get("id") and ref.get("execution_id"):
                mime_type = str(ref.get("mime_type") or "")
                files.append({"key": f"{index}/{name}", "item": str(index + 1), "name": str(name),
                              "file_name": str(ref.get("file_name") or ""), "mime_type": mime_type,
                              "size": file_size(ref.get("size")),
                              "preview": preview_kind(mime_type)})
            if len(files) >= MAX_FILES_LISTED:
                return files
    return files


def preview_kind(mime_type: str) -> str:
    """"image" (shown through a signed link), "text" or "pdf" (their text, from the storage API), or ""."""
    if mime_type in PREVIEW_IMAGES:
        return "image"
    return kind_of(mime_type) or ""


def preview_note(shown: dict) -> str:
    """What a text preview shows, in words: "The first 64.0 kB of 1.2 MB", "Page 1 of 3"."""
    if shown.get("kind") == "pdf":
        pages = shown.get("pages") or 0
        return f"The text of page 1 of {pages}" + (" (cut)" if shown.get("truncated") else "") if pages else (
            "The PDF has no pages")
    if shown.get("truncated"):
        return f"The first {file_size(len(shown.get('text', '').encode()))} of {file_size(shown.get('size'))}"
    return f"The whole file ({file_size(shown.get('size'))})"


def file_ref(items: list, key: str) -> dict | None:
    """The reference behind an ``item_files`` key, as the storage API's link request takes it."""
    index, _, name = key.partition("/")
    if not index.isdigit() or int(index) >= len(items) or not isinstance(items[int(index)], dict):
        return None
    ref = (items[int(index)].get("binary") or {}).get(name)
    if not isinstance(ref, dict):
        return None
    return {"id": ref.get("id"), "execution_id": ref.get("execution_id"), "file_name": str(ref.get("file_name") or ""),
            "mime_type": str(ref.get("mime_type") or "application/octet-stream")}


def file_size(size: object) -> str:
    if not isinstance(size, int) or size < 0:
        return ""
    for unit, scale in (("GB", 1 << 30), ("MB", 1 << 20), ("kB", 1 << 10)):
        if size >= scale:
            return f"{size / scale:.1f} {unit}"
    return f"{size} B"
