"""Checks of single migrations, shared by the SQLite unit tests and the PostgreSQL integration tests."""

from __future__ import annotations

import json

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


def check_billing_migration(url: str) -> None:
    """0010 turns a plan's `limits` JSON into columns (keeping what an existing row said), seeds Free, Pro and
    Business, moves usage periods from months to period starts; down to 0009 it folds them back, adding up
    periods that started in one month, and keeps every team, plan and subscription row."""
    migrate.upgrade(url, "0009_lost_attempts")
    engine = make_engine(url)
    now = "CURRENT_TIMESTAMP"
    try:
        with engine.begin() as conn:
            conn.execute(text(f"INSERT INTO teams (id, name, slug, created_at, updated_at) VALUES ('t1', 'T', 't', {now}, {now})"))
            conn.execute(text("INSERT INTO plans (id, name, price_cents, interval, limits, stripe_price_id) VALUES "
                              "('team', 'Team', 1500, 'month', '{\"executions_per_month\": 5000, \"members\": 8}', "
                              "'price_old')"))
            conn.execute(text(f"INSERT INTO subscriptions (id, team_id, plan_id, status, created_at, updated_at) "
                              f"VALUES ('s1', 't1', 'team', 'active', {now}, {now})"))
            conn.execute(text("INSERT INTO usage (id, team_id, period, metric, quantity) "
                              "VALUES ('u1', 't1', '2026-11', 'executions', 7)"))
        migrate.upgrade(url, "0010_billing")
        with engine.begin() as conn:
            plans = {row.id: row for row in conn.execute(text(
                "SELECT id, price_monthly_cents, executions_limit, members_limit, overage_limit, "
                "active_workflows_limit, stripe_price_monthly FROM plans"))}
            assert set(plans) == {"team", "free", "pro", "business"}
            assert tuple(plans["team"])[1:] == (1500, 5000, 8, 0, None, "price_old")
            assert tuple(plans["free"])[1:6] == (0, 1000, 3, 0, 5)
            sub = conn.execute(text("SELECT plan_id, status, billing_interval, stripe_state_at FROM subscriptions")).one()
            assert tuple(sub) == ("team", "active", "month", 0)
            assert conn.execute(text("SELECT period, quantity FROM usage")).one() == ("2026-11-01T00:00:00Z", 7)
            conn.execute(text("INSERT INTO usage (id, team_id, period, metric, quantity) "
                              "VALUES ('u2', 't1', '2026-11-15T08:00:00Z', 'executions', 3)"))
            conn.execute(text(f"INSERT INTO usage_records (execution_id, team_id, period, seq, mode, overage, "
                              f"occurred_at, counted_at) VALUES ('e1', 't1', '2026-11-15T08:00:00Z', 1, 'webhook', "
                              f"{'false' if engine.dialect.name == 'postgresql' else '0'}, {now}, {now})"))
        migrate.downgrade(url, "0009_lost_attempts")
        tables = set(inspect(engine).get_table_names())
        assert not {"usage_records", "meter_reports", "billing_events"} & tables
        with engine.connect() as conn:
            assert conn.execute(text("SELECT period, quantity FROM usage")).one() == ("2026-11", 10)
            limits = conn.execute(text("SELECT limits, price_cents, stripe_price_id FROM plans WHERE id = 'team'")).one()
            stored = limits[0] if isinstance(limits[0], dict) else json.loads(limits[0])
            assert stored == {"executions": 5000, "members": 8, "overage": 0} and tuple(limits)[1:] == (1500, "price_old")
            assert conn.execute(text("SELECT plan_id FROM subscriptions")).scalar() == "team"
            assert conn.execute(text("SELECT count(*) FROM plans")).scalar() == 4, "seeded plans stay"
        migrate.upgrade(url)
    finally:
        engine.dispose()
