"""The webhook group commit's SQLite bulk insert (backend/db/fast_insert.py) stores exactly what SQLAlchemy's
own insert stores: the same text for datetimes (from any time zone), JSON given as text or as values, enum
values, NULLs, and the Python-side defaults of the columns a row leaves out."""

from __future__ import annotations

import re
import sqlite3
from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import create_engine

from backend.db.base import Base
from backend.db.fast_insert import insert_many, insert_on_driver, sqlite_datetime
from backend.events.models import OutboxEvent
from backend.events.outbox import outbox_row
from backend.executions.models import Execution, ExecutionStep
from backend.executions.models import ExecutionStatus as S
from backend.webhooks.persist import EXECUTION_JSON, STEP_JSON, _statements

TABLES = [Execution.__table__, ExecutionStep.__table__, OutboxEvent.__table__]
BERLIN = timezone(timedelta(hours=1))


def rows() -> tuple[list[dict], list[dict], list[dict]]:
    at = datetime(2026, 12, 5, 21, 37, 1, 234567, tzinfo=UTC)
    executions = [{
        "id": f"e{i}", "team_id": "t", "workflow_id": "w" if i else None, "version_id": None,
        "definition": '{"nodes": []}', "status": [S.SUCCEEDED, S.FAILED, S.WAITING][i], "mode": "webhook",
        "input": '[{"json": {"name": "J\\u00f6rg"}}]', "output": "null", "error": '{"message": "boom"}' if i else "null",
        "parent_execution_id": None, "retry_of_id": None, "lease_owner": None, "lease_expires_at": None,
        "resume_at": at + timedelta(seconds=600) if i == 2 else None, "attempts": 1,
        "created_at": at, "started_at": at.astimezone(BERLIN), "finished_at": None if i == 2 else at + timedelta(0, 0, 3),
    } for i in range(3)]
    steps = [{"id": f"s{i}", "execution_id": "e0", "node_id": "set", "node_name": "Sät", "run_index": i,
              "status": "succeeded", "attempts": 1, "input": "{}", "input_ref": None, "output": '{"main": []}',
              "output_ref": "ref" if i else None, "error": "null", "started_at": at, "finished_at": None}
             for i in range(2)]
    events = [outbox_row("execution.events", "e0", {"type": "execution.succeeded", "n": 1.5, "s": "ü\u2028",
                                                  "none": None, "list": [1, {"a": None}]}),
              outbox_row("analytics.events", "w", {"type": "usage.executions", "executions": [["e0", "webhook"]]})]
    return executions, steps, events


def stored(path) -> dict[str, list[dict]]:
    with sqlite3.connect(path) as db:
        db.row_factory = sqlite3.Row
        return {table.name: [dict(row) for row in db.execute(f'SELECT * FROM "{table.name}" ORDER BY id')]
                for table in TABLES}


def test_the_rows_stored_are_those_sqlalchemy_stores(tmp_path):
    answers = {}
    for how in ("sqlalchemy", "fast", "driver"):
        path = tmp_path / f"{how}.db"
        engine = create_engine(f"sqlite:///{path}")
        Base.metadata.create_all(engine, tables=TABLES)
        executions, steps, events = rows()
        if how == "driver":  # what the group commit does on SQLite (backend.db.session.driver_transaction)
            with sqlite3.connect(path, isolation_level=None) as driver:
                driver.execute("BEGIN IMMEDIATE")
                insert_on_driver(driver, Execution.__table__, executions, text_json=frozenset(EXECUTION_JSON))
                insert_on_driver(driver, ExecutionStep.__table__, steps, text_json=frozenset(STEP_JSON))
                insert_on_driver(driver, OutboxEvent.__table__, events)
                driver.execute("COMMIT")
        elif how == "fast":
            with engine.begin() as conn:
                insert_many(conn, Execution.__table__, executions, text_json=frozenset(EXECUTION_JSON))
                insert_many(conn, ExecutionStep.__table__, steps, text_json=frozenset(STEP_JSON))
                insert_many(conn, OutboxEvent.__table__, events)
        else:
            statements = _statements("sqlite")
            with engine.begin() as conn:
                conn.execute(statements.execution, executions)
                conn.execute(statements.step, steps)
                conn.execute(statements.event, events)
        engine.dispose()
        answers[how] = stored(path)
    created = [row.pop("created_at") for found in answers.values() for row in found["outbox"]]
    assert all(re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{6}", text) for text in created), created
    assert answers["fast"] == answers["sqlalchemy"]  # the default created_at is "now": equal in form above
    assert answers["driver"] == answers["sqlalchemy"]
    first = answers["fast"]["executions"][0]
    assert (first["created_at"], first["started_at"], first["finished_at"]) == (
        "2026-12-05 21:37:01.234567", "2026-12-05 21:37:01.234567", "2026-12-05 21:37:01.234570")
    assert first["lost_attempts"] == 0 and answers["fast"]["outbox"][0]["attempts"] == 0


def test_a_naive_datetime_is_refused_as_sqlalchemy_refuses_it(tmp_path):
    with pytest.raises(ValueError, match="naive datetime"):
        sqlite_datetime(datetime(2026, 1, 1))
    engine = create_engine(f"sqlite:///{tmp_path / 'x.db'}")
    Base.metadata.create_all(engine, tables=TABLES)
    with pytest.raises(ValueError, match="no column"), engine.begin() as conn:
        insert_many(conn, OutboxEvent.__table__, [{"topic": "t", "key": "k", "payload": {}, "nope": 1}])
