"""What is indexed, as Elasticsearch documents built from database rows and audit events.

Data fields (trigger data, output, errors) are JSON text cut at `LINKFLOW_SEARCH_MAX_FIELD_CHARS`, so a
huge execution can neither blow up a bulk request nor the index; the document says it was cut.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime

from backend.events.bus import Event

WORKFLOW, EXECUTION, AUDIT = "workflow", "execution", "audit"


def workflow_doc(row, definition: dict | None) -> dict:
    """`row` has id, team_id, name, description, tags, active, updated_at; `definition` is the newest version's."""
    nodes = [n for n in (definition or {}).get("nodes") or [] if isinstance(n, dict)]
    return {
        "id": row.id, "team_id": row.team_id, "name": row.name, "description": row.description or "",
        "tags": [str(t) for t in (row.tags or [])][:100], "active": bool(row.active),
        "node_types": sorted({str(n.get("type", ""))[:200] for n in nodes if n.get("type")}),
        "node_names": [str(n.get("name", ""))[:200] for n in nodes if n.get("name")][:500],
        "updated_at": _iso(row.updated_at),
    }


def execution_doc(row, workflow_name: str | None, step_errors: list[dict], max_chars: int) -> dict:
    """`row` has the execution columns; `step_errors` are the failed steps' error objects."""
    trigger, trigger_cut = _capped(row.input, max_chars)
    output, output_cut = _capped(row.output, max_chars)
    errors, errors_cut = _capped([e for e in [row.error, *step_errors] if e], max_chars)
    error = row.error or {}
    return {
        "id": row.id, "team_id": row.team_id, "workflow_id": row.workflow_id, "workflow_name": workflow_name or "",
        "status": row.status, "mode": row.mode, "created_at": _iso(row.created_at),
        "started_at": _iso(row.started_at or row.created_at), "finished_at": _iso(row.finished_at),
        "error_message": str(error.get("message") or "")[:2000] if isinstance(error, dict) else "",
        "trigger_data": trigger, "output": output, "errors": errors,
        "truncated": trigger_cut or output_cut or errors_cut,
    }


def audit_doc(event: Event, max_chars: int) -> dict | None:
    """An `audit.log` event as a document (None: it belongs to no team, so no team search shows it)."""
    payload = event.payload
    if not payload.get("team_id"):
        return None
    details, _ = _capped(payload.get("details") or {}, max_chars)
    return {
        "id": audit_id(event), "team_id": payload["team_id"], "action": str(payload.get("action", ""))[:100],
        "actor_id": payload.get("actor_id"), "object_type": payload.get("object_type"),
        "object_id": payload.get("object_id"), "details": details,
        "created_at": payload.get("occurred_at") or _iso(datetime.now().astimezone()),
    }


def audit_id(event: Event) -> str:
    """The outbox id makes redelivered entries overwrite themselves."""
    if event.event_id is not None:
        return f"e{event.event_id}"
    return "h" + hashlib.sha1(json.dumps(event.payload, sort_keys=True, default=str).encode()).hexdigest()


def _capped(value: object, max_chars: int) -> tuple[str, bool]:
    if value in (None, [], {}):
        return "", False
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
    return (text[:max_chars], True) if len(text) > max_chars else (text, False)


def _iso(value: datetime | None) -> str | None:
    if value is None:
        return None
    if value.tzinfo is None:  # SQLite gives naive UTC
        return value.isoformat() + "Z"
    return value.isoformat()
