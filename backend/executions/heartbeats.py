"""Worker heartbeats: each long-running process upserts its row every few seconds and deletes it
when it stops cleanly. The admin console reads them; rows silent for a day are pruned."""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from backend.db.base import utcnow
from backend.executions.models import WorkerHeartbeat

INTERVAL_S = 10.0
ALIVE_WITHIN = timedelta(seconds=30)  # three missed beats and a worker shows as dead
PRUNE_AFTER = timedelta(days=1)
ROLES = ("worker", "scheduler", "consume", "embedded")


def process_id(role: str) -> str:
    """This process's heartbeat id: "<hostname>:<pid>:<role>"."""
    if role not in ROLES:
        raise ValueError(f"unknown heartbeat role {role!r}; one of {', '.join(ROLES)}")
    return f"{socket.gethostname()}:{os.getpid()}:{role}"


def beat(session: Session, heartbeat_id: str, *, role: str, details: dict, started_at: datetime,
         now: datetime | None = None) -> None:
    """Insert or refresh the row (one statement, so concurrent beats never conflict)."""
    now = now or utcnow()
    hostname, pid = _host_and_pid(heartbeat_id)
    values = {"id": heartbeat_id, "role": role, "hostname": hostname, "pid": pid, "started_at": started_at,
              "last_seen_at": now, "details": details}
    insert = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}[session.get_bind().dialect.name]
    statement = insert(WorkerHeartbeat).values(**values)
    session.execute(statement.on_conflict_do_update(
        index_elements=["id"], set_={"last_seen_at": now, "details": details, "role": role}))


def _host_and_pid(heartbeat_id: str) -> tuple[str, int]:
    hostname, pid, _role = heartbeat_id.rsplit(":", 2)
    return hostname[:255], int(pid)


def remove(session: Session, heartbeat_id: str) -> None:
    session.execute(delete(WorkerHeartbeat).where(WorkerHeartbeat.id == heartbeat_id))


def prune(session: Session, now: datetime | None = None, older_than: timedelta = PRUNE_AFTER) -> int:
    """Delete the rows of processes silent for longer than `older_than` (crashed, never said goodbye)."""
    cutoff = (now or utcnow()) - older_than
    return session.execute(delete(WorkerHeartbeat).where(WorkerHeartbeat.last_seen_at < cutoff)).rowcount


@dataclass(frozen=True)
class WorkerStatus:
    id: str
    role: str
    hostname: str
    pid: int
    started_at: datetime
    last_seen_at: datetime
    alive: bool
    details: dict


def list_workers(session: Session, now: datetime | None = None) -> list[WorkerStatus]:
    """Every known process, most recently seen first; `alive` if it beat within ALIVE_WITHIN."""
    now = now or utcnow()
    rows = session.scalars(select(WorkerHeartbeat).order_by(WorkerHeartbeat.last_seen_at.desc(),
                                                            WorkerHeartbeat.id))
    return [WorkerStatus(id=r.id, role=r.role, hostname=r.hostname, pid=r.pid, started_at=r.started_at,
                         last_seen_at=r.last_seen_at, alive=now - r.last_seen_at <= ALIVE_WITHIN,
                         details=r.details or {}) for r in rows]
