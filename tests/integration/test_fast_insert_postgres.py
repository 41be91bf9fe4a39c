"""The scaled-out intake's COPY (backend/db/fast_insert.copy_many) stores exactly what SQLAlchemy's own insert stores
on PostgreSQL: datetimes from any time zone, JSON given as text or as values (JSONB), StrEnum values, NULLs, and the
Python-side defaults of the columns a row leaves out; a naive datetime is refused; and a queued webhook batch
written by `write_queued` reads back as the ORM expects; no webhook is lost when the server ends the intake's
connections."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import create_engine, delete, func, insert, select, text

from backend.db import migrate
from backend.db.fast_insert import copy_many
from backend.db.session import get_engine, session_scope
from backend.events.models import OutboxEvent
from backend.events.outbox import outbox_row
from backend.executions.models import Execution, ExecutionStep
from backend.executions.models import ExecutionStatus as S
from backend.settings import get_settings
from backend.users.service import create_user
from backend.webhooks.group_commit import save_queued
from backend.webhooks.persist import EXECUTION_JSON, STEP_JSON, RunDraft, _statements, write_queued

BERLIN = timezone(timedelta(hours=1))


@pytest.fixture
def database(postgres_url, configure):
    configure(DATABASE_URL=postgres_url)
    migrate.upgrade(get_settings().database_url)
    with session_scope() as session:
        _, team = create_user(session, email="copy@example.com", password="a long enough password")
        team_id = team.id
    engine = create_engine(postgres_url)
    yield engine, team_id
    engine.dispose()


def rows(team_id: str) -> tuple[list[dict], list[dict], list[dict]]:
    at = datetime(2026, 12, 5, 21, 37, 1, 234567, tzinfo=UTC)
    executions = [{
        "id": f"e{i}", "team_id": team_id, "workflow_id": None, "version_id": None,
        "definition": '{"nodes": []}', "status": [S.SUCCEEDED, S.FAILED, S.WAITING][i], "mode": "webhook",
        "input": '[{"json": {"name": "J\\u00f6rg", "tab": "a\\tb\\\\n"}}]', "output": "null",
        "error": '{"message": "boom"}' if i else "null", "parent_execution_id": None, "retry_of_id": None,
        "lease_owner": None, "lease_expires_at": None, "resume_at": at + timedelta(seconds=600) if i == 2 else None,
        "attempts": 1, "created_at": at, "started_at": at.astimezone(BERLIN),
        "finished_at": None if i == 2 else at + timedelta(0, 0, 3),
    } for i in range(3)]
    steps = [{"id": f"s{i}", "execution_id": "e0", "node_id": "set", "node_name": "Sät\tx", "run_index": i,
              "status": "succeeded", "attempts": 1, "input": "{}", "input_ref": None, "output": '{"main": []}',
              "output_ref": "ref" if i else None, "error": "null", "started_at": at, "finished_at": None}
             for i in range(2)]
    events = [outbox_row("execution.events", "e0", {"type": "execution.succeeded", "n": 1.5, "s": "ü\u2028\\N",
                                                  "none": None, "list": [1, {"a": None}]}),
              outbox_row("analytics.events", "w", {"type": "usage.executions", "executions": [["e0", "webhook"]]})]
    return executions, steps, events


def stored(conn) -> dict[str, list[dict]]:
    answer = {}
    for table in (Execution.__table__, ExecutionStep.__table__, OutboxEvent.__table__):
        found = [dict(row._mapping) for row in conn.execute(select(table).order_by(table.c.id))]
        for row in found:
            if table is OutboxEvent.__table__:
                row.pop("id")  # a sequence: differs between the two writes
            for moment in ("created_at",):
                if table is OutboxEvent.__table__ and moment in row:
                    row[moment] = row[moment] is not None  # a default taken at write time
        answer[table.name] = found
    return answer


def test_copy_stores_what_sqlalchemy_stores(database):
    engine, team_id = database
    answers = {}
    for how in ("sqlalchemy", "copy"):
        executions, steps, events = rows(team_id)
        with engine.begin() as conn:
            if how == "sqlalchemy":
                statements = _statements("postgresql")
                conn.execute(statements.execution, executions)
                conn.execute(statements.step, steps)
                conn.execute(insert(OutboxEvent), events)
            else:
                copy_many(conn, Execution.__table__, executions, text_json=frozenset(EXECUTION_JSON))
                copy_many(conn, ExecutionStep.__table__, steps, text_json=frozenset(STEP_JSON))
                copy_many(conn, OutboxEvent.__table__, events)
        with engine.begin() as conn:
            answers[how] = stored(conn)
            conn.execute(delete(ExecutionStep))
            conn.execute(delete(Execution))
            conn.execute(delete(OutboxEvent))
    assert answers["copy"] == answers["sqlalchemy"]
    assert answers["copy"]["executions"][0]["input"] == [{"json": {"name": "Jörg", "tab": "a\tb\\n"}}]
    assert answers["copy"]["executions"][0]["status"] == "succeeded"
    assert answers["copy"]["executions"][1]["started_at"] == datetime(2026, 12, 5, 21, 37, 1, 234567, tzinfo=UTC)


def test_a_naive_datetime_is_refused_and_nothing_is_written(database):
    engine, team_id = database
    executions, _, _ = rows(team_id)
    executions[1]["created_at"] = datetime(2026, 12, 5, 21, 37)
    with pytest.raises(ValueError, match="naive datetime"), engine.begin() as conn:
        copy_many(conn, Execution.__table__, executions, text_json=frozenset(EXECUTION_JSON))
    with engine.begin() as conn:
        assert conn.execute(text("SELECT count(*) FROM executions")).scalar() == 0


def test_a_queued_batch_reads_back_through_the_orm(database):
    _, team_id = database
    drafts = [RunDraft(id=f"q{i}", team_id=team_id, workflow_id=None, version_id=None, definition_json='{"nodes": []}',
                       mode="webhook", input=[{"json": {"n": i}}]) for i in range(3)]
    write_queued(drafts)
    assert get_engine().dialect.name == "postgresql"
    with session_scope() as session:
        queued = session.scalars(select(Execution).order_by(Execution.id)).all()
        assert [(e.id, e.status, e.attempts, e.input, e.started_at) for e in queued] == [
            (f"q{i}", S.QUEUED, 0, [{"json": {"n": i}}], None) for i in range(3)]
        assert all(e.created_at.tzinfo is not None for e in queued)
        events = session.scalars(select(OutboxEvent).order_by(OutboxEvent.id)).all()
        assert [(e.topic, e.key, e.payload["type"], e.attempts, e.published_at) for e in events] == [
            ("execution.events", f"q{i}", "execution.queued", 0, None) for i in range(3)]


async def test_the_intake_outlives_the_server_ending_its_connections(database):
    """When PostgreSQL ends the intake's connections (a restart, an idle timeout, an operator's
    pg_terminate_backend), every webhook of the batches after it is still accepted and stored, with its event."""
    other, team_id = database  # an engine of its own, to end the app's connections from outside

    def drafts(prefix: str, count: int) -> list[RunDraft]:
        return [RunDraft(id=f"{prefix}{i}", team_id=team_id, workflow_id=None, version_id=None,
                         definition_json='{"nodes": []}', mode="webhook", input=[{"json": {"n": i}}])
                for i in range(count)]

    await asyncio.gather(*(save_queued(draft) for draft in drafts("a", 5)))
    with other.connect() as conn:
        ended = conn.execute(text(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid() AND backend_type = 'client backend'"
        )).scalar()
    assert ended >= 1  # the connection the first batch was written on, back in the pool
    await asyncio.gather(*(save_queued(draft) for draft in drafts("b", 5)))
    await asyncio.gather(*(save_queued(draft) for draft in drafts("c", 5)))
    with session_scope() as session:
        assert sorted(session.scalars(select(Execution.id))) == sorted(
            f"{prefix}{i}" for prefix in "abc" for i in range(5))
        assert session.scalar(select(func.count()).select_from(OutboxEvent)) == 15
