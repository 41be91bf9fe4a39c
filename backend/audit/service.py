"""The audit trail: written from `audit.log` events, read and exported per team."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from backend.audit.models import AuditLog
from backend.db.base import utcnow
from backend.errors import UserError

ACTOR_TYPES = ("user", "api_key", "system")
_COLUMNS = ("action", "actor_id", "actor_type", "team_id", "object_type", "object_id", "ip")
_ENVELOPE = ("event_id", "occurred_at", "details")
_LIMITS = {"action": 100, "actor_id": 32, "team_id": 32, "object_type": 50, "object_id": 32, "ip": 64}
MAX_PAGE = 500
MAX_EXPORT_ROWS = 100_000  # one CSV download; narrow the time range for more
CSV_HEADER = ("created_at", "action", "actor_type", "actor_id", "object_type", "object_id", "ip", "details")


def record_event(session: Session, payload: dict) -> bool:
    """Write the audit row of one `audit.log` event; False if its `event_id` is already recorded.

    Keys besides the audit columns (an emitter's own fields) are kept in `details`.
    """
    values = _row_values(payload)
    dialect = session.get_bind().dialect.name
    insert = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}[dialect]
    statement = insert(AuditLog).values(**values).on_conflict_do_nothing(index_elements=["event_id"])
    return session.execute(statement).rowcount == 1


def _row_values(payload: dict) -> dict:
    action = payload.get("action")
    if not isinstance(action, str) or not action:
        raise UserError(f"an audit.log event needs a non-empty 'action'; got {action!r}")
    values = {name: _text(payload, name) for name in _COLUMNS}
    values["actor_type"] = values["actor_type"] or ("user" if values["actor_id"] else "system")
    if values["actor_type"] not in ACTOR_TYPES:
        raise UserError(f"actor_type must be one of {', '.join(ACTOR_TYPES)}; got {values['actor_type']!r}")
    extra = {k: v for k, v in payload.items() if k not in _COLUMNS and k not in _ENVELOPE}
    details = payload.get("details") or {}
    values["details"] = {**extra, **(details if isinstance(details, dict) else {"details": details})}
    values["event_id"] = payload.get("event_id")
    values["created_at"] = _occurred_at(payload.get("occurred_at"))
    return values


def _text(payload: dict, name: str) -> str | None:
    value = payload.get(name)
    if value is None or value == "":
        return None
    value = str(value)
    if len(value) > _LIMITS.get(name, 16):
        raise UserError(f"audit field {name!r} is longer than {_LIMITS.get(name, 16)} characters: {value[:40]!r}…")
    return value


def _occurred_at(value: object) -> datetime:
    try:
        stamp = datetime.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        stamp = None
    return stamp if stamp is not None and stamp.tzinfo is not None else utcnow()


@dataclass(frozen=True)
class AuditFilter:
    """What the audit console narrows by; None means any. `until` is exclusive.

    `action` is one action (`workflow.activate`) or a family ending in `.*` (`workflow.*`).
    """

    action: str | None = None
    actor_id: str | None = None
    object_type: str | None = None
    object_id: str | None = None
    since: datetime | None = None
    until: datetime | None = None

    def where(self, team_id: str | None) -> list:
        """The conditions for one team's trail; team_id None: the whole instance (instance admins)."""
        conditions = [AuditLog.team_id == team_id] if team_id is not None else []
        if self.action is not None and self.action.endswith(".*"):
            prefix = self.action[:-1].replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            conditions.append(AuditLog.action.like(f"{prefix}%", escape="\\"))
        elif self.action is not None:
            conditions.append(AuditLog.action == self.action)
        for name in ("actor_id", "object_type", "object_id"):
            if (value := getattr(self, name)) is not None:
                conditions.append(getattr(AuditLog, name) == value)
        if self.since is not None:
            conditions.append(AuditLog.created_at >= self.since)
        if self.until is not None:
            conditions.append(AuditLog.created_at < self.until)
        return conditions


def list_audit(session: Session, team_id: str | None, filters: AuditFilter = AuditFilter(), *,
               limit: int = 50, offset: int = 0) -> tuple[list[AuditLog], int]:
    """The team's audit entries, newest first, and how many match in total."""
    if not 1 <= limit <= MAX_PAGE or offset < 0:
        raise UserError(f"limit must be 1 to {MAX_PAGE} and offset 0 or more; got limit={limit}, offset={offset}")
    conditions = filters.where(team_id)
    total = session.scalar(select(func.count()).select_from(AuditLog).where(*conditions))
    rows = session.scalars(select(AuditLog).where(*conditions)
                           .order_by(AuditLog.created_at.desc(), AuditLog.id.desc())
                           .limit(limit).offset(offset)).all()
    return list(rows), total or 0


def export_csv(session: Session, team_id: str, filters: AuditFilter = AuditFilter(), *,
               batch: int = 1000, limit: int = MAX_EXPORT_ROWS) -> Iterator[str]:
    """The matching entries as CSV text, header first, one chunk per row (for a streaming response);
    at most `limit` rows, newest first."""
    yield _csv_line(CSV_HEADER)
    query = (select(AuditLog).where(*filters.where(team_id))
             .order_by(AuditLog.created_at.desc(), AuditLog.id.desc())
             .limit(limit).execution_options(yield_per=batch))
    for row in session.scalars(query):
        yield _csv_line((row.created_at.isoformat(), row.action, row.actor_type, row.actor_id,
                         row.object_type, row.object_id, row.ip,
                         json.dumps(row.details, sort_keys=True, ensure_ascii=False)))


def distinct_actions(session: Session, team_id: str) -> list[str]:
    return list(session.scalars(select(AuditLog.action).where(AuditLog.team_id == team_id)
                                .distinct().order_by(AuditLog.action).limit(MAX_PAGE)))


def _csv_line(values: tuple) -> str:
    buffer = io.StringIO()
    csv.writer(buffer).writerow([_inert(value) for value in values])
    return buffer.getvalue()


def _inert(value: object) -> str:
    """Spreadsheets run cells that start with = + - @ as formulas; a leading quote keeps them text."""
    text = "" if value is None else str(value)
    return f"'{text}" if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text
