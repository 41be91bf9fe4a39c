"""Checks of single migrations, shared by the SQLite unit tests and the PostgreSQL integration tests."""

from __future__ import annotations

from sqlalchemy import inspect, text

from backend.db import migrate
from backend.db.session import make_engine


def check_lost_attempts_migration(url: str) -> None:
    """0009 adds executions.lost_attempts (0 for the rows already there) and last_attempt_error; back down
    to 0006 it removes them and keeps the rows."""
    migrate.upgrade(url, "0006_sharing_heartbeats")
    engine = make_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(text("INSERT INTO teams (id, name, slug, created_at, updated_at) VALUES ('t1', 'T', 't', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"))
            conn.execute(text("INSERT INTO executions (id, team_id, status, mode, attempts, created_at) "
                              "VALUES ('e1', 't1', 'running', 'manual', 3, CURRENT_TIMESTAMP)"))
        migrate.upgrade(url)
        with engine.connect() as conn:
            row = conn.execute(text("SELECT attempts, lost_attempts, last_attempt_error FROM executions")).one()
        assert tuple(row) == (3, 0, None)
        migrate.downgrade(url, "0006_sharing_heartbeats")
        columns = {column["name"] for column in inspect(engine).get_columns("executions")}
        assert "lost_attempts" not in columns and "last_attempt_error" not in columns
        with engine.connect() as conn:
            assert conn.execute(text("SELECT id, attempts FROM executions")).one() == ("e1", 3)
        migrate.upgrade(url)
    finally:
        engine.dispose()
