"""0013_insights: the rollups of 0011 (a row per duration bucket) become a histogram per row, per workflow and
per team, with nothing counted lost; and back on downgrade. Also run on PostgreSQL
(tests/integration/test_insights_postgres.py)."""

from __future__ import annotations

from sqlalchemy import text

from backend.db import migrate
from backend.db.session import make_engine

NARROW = [  # team, granularity, period, workflow, mode, status, bucket, executions, duration_ms, items
    ("t1", "day", "2026-12-01 00:00:00+00:00", "w1", "webhook", "succeeded", 0, 3, 24.0, 3),
    ("t1", "day", "2026-12-01 00:00:00+00:00", "w1", "webhook", "succeeded", 4, 2, 400.0, 2),
    ("t1", "day", "2026-12-01 00:00:00+00:00", "w2", "webhook", "succeeded", 4, 1, 200.0, 5),
    ("t1", "day", "2026-12-01 00:00:00+00:00", "w1", "webhook", "failed", -1, 1, 0.0, 0),
    ("t2", "hour", "2026-12-01 10:00:00+00:00", "", "manual", "succeeded", 14, 1, 9e7, 1),
]


def check_insights_migration(url: str) -> None:
    migrate.upgrade(url, "0012_notification_rules")
    engine = make_engine(url)
    try:
        with engine.begin() as conn:
            names = ("team_id", "granularity", "period_start", "workflow_id", "mode", "status", "duration_bucket",
                     "executions", "duration_ms", "items")
            conn.execute(text(f"INSERT INTO analytics_rollups ({', '.join(names)}) "
                              f"VALUES ({', '.join(':' + n for n in names)})"),
                         [dict(zip(names, row, strict=True)) for row in NARROW])
        migrate.upgrade(url, "0013_insights")
        with engine.connect() as conn:
            wide = conn.exec_driver_sql(
                "SELECT workflow_id, status, executions, duration_ms, items, d0, d4, d14, d_unknown "
                "FROM analytics_execution_rollups ORDER BY team_id, workflow_id, status").all()
            team = conn.exec_driver_sql(
                "SELECT team_id, status, executions, duration_ms, items, d0, d4, d_unknown "
                "FROM analytics_team_rollups ORDER BY team_id, status").all()
        assert [tuple(r) for r in wide] == [("w1", "failed", 1, 0.0, 0, 0, 0, 0, 1),
                                            ("w1", "succeeded", 5, 424.0, 5, 3, 2, 0, 0),
                                            ("w2", "succeeded", 1, 200.0, 5, 0, 1, 0, 0),
                                            ("", "succeeded", 1, 9e7, 1, 0, 0, 1, 0)]
        assert [tuple(r) for r in team] == [("t1", "failed", 1, 0.0, 0, 0, 0, 1),
                                            ("t1", "succeeded", 6, 624.0, 10, 3, 3, 0),
                                            ("t2", "succeeded", 1, 9e7, 1, 0, 0, 0)]
        migrate.downgrade(url, "0012_notification_rules")
        with engine.connect() as conn:
            narrow = conn.exec_driver_sql(
                "SELECT workflow_id, status, duration_bucket, executions FROM analytics_rollups "
                "ORDER BY team_id, workflow_id, status, duration_bucket").all()
            totals = conn.exec_driver_sql(
                "SELECT sum(executions), sum(duration_ms), sum(items) FROM analytics_rollups").one()
        assert [tuple(r) for r in narrow] == [("w1", "failed", -1, 1), ("w1", "succeeded", 0, 3),
                                              ("w1", "succeeded", 4, 2), ("w2", "succeeded", 4, 1),
                                              ("", "succeeded", 14, 1)]
        assert (int(totals[0]), float(totals[1]), int(totals[2])) == (8, 9e7 + 624.0, 11)
    finally:
        engine.dispose()


def test_the_insights_migration_keeps_what_was_counted_on_sqlite(tmp_path):
    check_insights_migration(f"sqlite:///{tmp_path / 't.db'}")
