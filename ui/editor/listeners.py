"""A listener trigger's status (Redis, Kafka, RabbitMQ, Email (IMAP) Trigger) as the node panel shows it.

``listener_view`` turns the node's row of ``GET /workflows/{id}/triggers`` (``listeners``) into plain strings:
a badge (Listening, Starting, Error, Stopped, Not active) with its colour, the message count, when the last
message came, and the error said in the user's terms (what failed, that it is retried, what to do).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

BADGES = {  # status -> (badge text, colour scheme)
    "listening": ("Listening", "green"),
    "starting": ("Starting", "amber"),
    "error": ("Error", "red"),
    "stopped": ("Stopped", "gray"),
    "not_active": ("Not active", "gray"),
}
EXPLAINED = {
    "listening": "",
    "starting": "The listener is connecting; refresh in a moment.",
    "stopped": "This node has no listener in the live version (it is disabled, or was added after the last "
               "activation): publish the workflow to start it.",
    "not_active": "Activating the workflow starts listening; each message then starts an execution.",
}
_RETRY = re.compile(r"\s*\(retrying in (\d+)\s*s\)\s*$")
_EXCEPTION = re.compile(r"^[A-Z][A-Za-z0-9_.]*(?:Error|Exception|Refused|Timeout):\s+")


def _moment(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(str(text).replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def ago(moment: datetime, now: datetime) -> str:
    seconds = max(0, int((now - moment).total_seconds()))
    if seconds < 60:
        return "just now" if seconds < 5 else f"{seconds} s ago"
    if seconds < 3600:
        return f"{seconds // 60} min ago"
    if seconds < 86400:
        return f"{seconds // 3600} h ago"
    return f"{seconds // 86400} d ago"


def error_text(error: str | None) -> str:
    """The runner's error (``"<what failed> (retrying in 5s)"``) as a sentence saying what to do."""
    if not error:
        return ""
    message, retry = str(error).strip(), ""
    found = _RETRY.search(message)
    if found:
        message, retry = message[:found.start()], f" LinkFlow tries again in {found.group(1)} s by itself."
    message = _EXCEPTION.sub("", message).strip().rstrip(".") or "the listener failed without a message"
    return (f"Not listening: {message}.{retry} Check the node's credential and parameters; after a change, "
            "publish the workflow to restart the listener.")


def listener_view(row: dict | None, *, active: bool, now: datetime | None = None) -> dict[str, str]:
    """The panel's strings for one listener node: ``row`` is its entry in ``listeners`` (None: no listener)."""
    now = now or datetime.now(UTC)
    if not active:
        status = "not_active"
    elif row is None:
        status = "stopped"
    else:
        status = row.get("status") if row.get("status") in BADGES else "starting"
    label, color = BADGES[status]
    count = int((row or {}).get("messages") or 0) if status != "not_active" else 0
    last = _moment((row or {}).get("last_message_at")) if status != "not_active" else None
    return {
        "status": status, "label": label, "color": color,
        "messages": "No messages yet" if count == 0 else f"{count:,} message{'s' if count != 1 else ''}",
        "last_message": f"{ago(last, now)} ({last.astimezone(UTC).strftime('%Y-%m-%d %H:%M:%S')} UTC)" if last else "",
        "detail": str((row or {}).get("detail") or "") if status == "listening" else "",
        "error": error_text((row or {}).get("error")) if status == "error" else "",
        "hint": EXPLAINED.get(status, ""),
    }
