"""`linkflow analytics rebuild --since`: rollups from a day on recomputed from the executions kept, the same
however often it runs; the days before are left alone."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from backend.analytics import queries
from backend.analytics.models import ExecutionRollup, TeamRollup
from backend.cli import main
from backend.db import migrate
from backend.db.session import session_scope
from backend.executions.models import Execution
from backend.settings import get_settings
from backend.users.service import create_user

DAY = datetime(2026, 11, 20, tzinfo=UTC)


def test_rebuild_recounts_the_days_from_since_and_leaves_earlier_days(capsys):
    rebuild_recounts_the_days_from_since_and_leaves_earlier_days(capsys)


def rebuild_recounts_the_days_from_since_and_leaves_earlier_days(capsys):
    """Also run on PostgreSQL (tests/integration/test_analytics_postgres.py)."""
    migrate.upgrade(get_settings().database_url)
    with session_scope() as session:
        _, team = create_user(session, email="rebuild@example.com", password="long enough password")
        team_id = team.id
        for n, (status, offset) in enumerate([("succeeded", 0), ("succeeded", 1), ("failed", 1), ("running", 1),
                                              ("succeeded", -3)]):
            started = DAY + timedelta(days=offset, hours=n)
            session.add(Execution(team_id=team_id, definition={}, status=status, mode="schedule", started_at=started,
                                  finished_at=None if status == "running" else started + timedelta(milliseconds=30),
                                  error={"node": "HTTP", "message": "boom"} if status == "failed" else None))
        for table, key in ((ExecutionRollup, {"workflow_id": ""}), (TeamRollup, {})):
            session.add(table(team_id=team_id, granularity="day", period_start=DAY, mode="webhook", **key,
                              status="succeeded", d0=999, executions=999, duration_ms=0, items=0))
            session.add(table(team_id=team_id, granularity="day", period_start=DAY - timedelta(days=10), **key,
                              mode="manual", status="succeeded", d0=7, executions=7, duration_ms=0, items=0))

    for _ in range(2):
        assert main(["analytics", "rebuild", "--since", (DAY + timedelta(hours=5)).isoformat()]) == 0
        report = json.loads(capsys.readouterr().out)
        assert report["since"] == DAY.isoformat() and report["executions"] == 3
        with session_scope() as session:
            body = queries.summary(session, team_id, since=DAY, until=DAY + timedelta(days=2))
        assert body["by_status"] == {"succeeded": 2, "failed": 1} and body["by_mode"] == {"schedule": 3}
        assert body["p50_ms"] == 50.0
        with session_scope() as session:
            assert queries.failures(session, team_id, since=DAY, until=DAY + timedelta(days=2)) == [
                {"workflow_id": None, "workflow_name": None, "failed_node": "HTTP", "failures": 1}]
    with session_scope() as session:  # before --since's day: untouched (the -3 days run is not recounted)
        for table in (ExecutionRollup, TeamRollup):
            kept = session.scalars(select(table.executions).where(table.period_start < DAY)).all()
            assert kept == [7]
            assert session.scalar(select(func.sum(table.executions)).where(table.period_start >= DAY,
                                                                            table.granularity == "hour")) == 3


def test_since_needs_a_time_zone(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["analytics", "rebuild", "--since", "2026-11-20T00:00:00"])
    assert exit_.value.code == 2
    assert "--since needs a time zone" in capsys.readouterr().err
