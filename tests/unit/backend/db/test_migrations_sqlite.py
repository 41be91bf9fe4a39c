from sqlalchemy import inspect

from backend.db import migrate
from backend.db.models import metadata
from backend.db.session import make_engine
from tests.unit.backend.db.migration_checks import check_billing_migration, check_lost_attempts_migration


def test_upgrade_downgrade_upgrade_on_sqlite(tmp_path):
    url = f"sqlite:///{tmp_path / 'm.db'}"
    migrate.upgrade(url)
    engine = make_engine(url)
    assert set(metadata.tables) <= set(inspect(engine).get_table_names())
    migrate.downgrade(url, "base")
    assert inspect(engine).get_table_names() == ["alembic_version"]
    migrate.upgrade(url)
    assert set(metadata.tables) <= set(inspect(engine).get_table_names())
    engine.dispose()


def test_models_and_migrations_do_not_drift_on_sqlite(tmp_path):
    url = f"sqlite:///{tmp_path / 'd.db'}"
    migrate.upgrade(url)
    assert migrate.drift(url) == [], "models changed without a migration: run alembic revision --autogenerate"


def test_drift_check_notices_a_schema_that_differs_from_the_models(tmp_path):
    url = f"sqlite:///{tmp_path / 'x.db'}"
    migrate.upgrade(url)
    engine = make_engine(url)
    with engine.begin() as conn:
        conn.exec_driver_sql("DROP INDEX ix_workflows_team_id")
    engine.dispose()
    assert any("ix_workflows_team_id" in repr(diff) for diff in migrate.drift(url))


def test_the_two_factor_migration_keeps_existing_rows_on_sqlite(tmp_path):
    url = f"sqlite:///{tmp_path / 't.db'}"
    migrate.upgrade(url, "0006_sharing_heartbeats")
    engine = make_engine(url)
    try:
        with engine.begin() as conn:
            conn.exec_driver_sql("INSERT INTO teams (id, name, slug, created_at, updated_at) "
                                 "VALUES ('t1', 'Ops', 'ops', '2026-01-01', '2026-01-01')")
        migrate.upgrade(url)
        with engine.connect() as conn:
            assert conn.exec_driver_sql("SELECT require_2fa FROM teams").scalar() in (0, False)
        assert {"two_factor_secrets", "recovery_codes"} <= set(inspect(engine).get_table_names())
        migrate.downgrade(url, "0006_sharing_heartbeats")
        inspector = inspect(engine)
        assert not {"two_factor_secrets", "recovery_codes"} & set(inspector.get_table_names())
        assert "require_2fa" not in {c["name"] for c in inspector.get_columns("teams")}
        assert "auth_method" not in {c["name"] for c in inspector.get_columns("refresh_tokens")}
        with engine.connect() as conn:
            assert conn.exec_driver_sql("SELECT name FROM teams").scalar() == "Ops"
    finally:
        engine.dispose()

def test_lost_attempts_columns_upgrade_and_downgrade_with_rows_on_sqlite(tmp_path):
    check_lost_attempts_migration(f"sqlite:///{tmp_path / 'l.db'}")


def test_upgrading_an_install_keeps_every_row_that_hangs_off_a_rebuilt_table(tmp_path):
    """SQLite rebuilds a table to alter it; with foreign keys on, dropping the old `teams` deleted
    every execution, workflow and credential of the team through ON DELETE CASCADE."""
    url = f"sqlite:///{tmp_path / 'keep.db'}"
    migrate.upgrade(url, "0006_sharing_heartbeats")
    engine = make_engine(url)
    now = "'2026-01-01 00:00:00'"
    rows = {
        "teams": f"(id, name, slug, created_at, updated_at) VALUES ('t1', 'T', 't', {now}, {now})",
        "users": f"(id, email, name, is_admin, is_active, created_at, updated_at) "
                 f"VALUES ('u1', 'a@example.com', 'A', 0, 1, {now}, {now})",
        "workflows": f"(id, team_id, name, description, tags, active, latest_version, created_at, updated_at) "
                     f"VALUES ('w1', 't1', 'W', '', '[]', 0, 1, {now}, {now})",
        "executions": f"(id, team_id, workflow_id, status, mode, attempts, created_at) "
                      f"VALUES ('e1', 't1', 'w1', 'succeeded', 'manual', 1, {now})",
        "execution_steps": f"(id, execution_id, node_id, node_name, run_index, status, attempts, started_at) "
                           f"VALUES ('s1', 'e1', 'n', 'N', 0, 'succeeded', 1, {now})",
        "webhooks": f"(id, team_id, workflow_id, node_id, method, path, created_at) "
                    f"VALUES ('h1', 't1', 'w1', 'n', 'GET', 'p', {now})",
        "credentials": f"(id, team_id, name, type, key_id, ciphertext, created_at, updated_at) "
                       f"VALUES ('c1', 't1', 'C', 'bearer_token', 'k', x'00', {now}, {now})",
    }
    try:
        with engine.begin() as conn:
            for table, values in rows.items():
                conn.exec_driver_sql(f"INSERT INTO {table} {values}")
        migrate.upgrade(url)
        with engine.connect() as conn:
            counts = {table: conn.exec_driver_sql(f"SELECT count(*) FROM {table}").scalar() for table in rows}
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1  # back on for this connection
        assert counts == dict.fromkeys(rows, 1)
    finally:
        engine.dispose()


def test_the_billing_migration_evolves_plans_and_usage_with_rows_on_sqlite(tmp_path):
    check_billing_migration(f"sqlite:///{tmp_path / 'b.db'}")


def test_a_saved_run_writes_fewer_index_entries_yet_every_lookup_stays_on_an_index(tmp_path):
    """0017: no second index on execution_steps.execution_id, and the resume_at / parent indexes hold only the
    rows that have one; the lookups by those columns still search an index instead of scanning the table."""
    url = f"sqlite:///{tmp_path / 'i.db'}"
    migrate.upgrade(url)
    engine = make_engine(url)
    lookups = {
        "SELECT id FROM execution_steps WHERE execution_id = 'e'": "sqlite_autoindex_execution_steps_2",
        "SELECT id FROM executions WHERE parent_execution_id = 'p'": "ix_executions_parent_execution_id",
        "SELECT id FROM executions INDEXED BY ix_executions_resume_at WHERE resume_at <= '2026-12-06'":
            "ix_executions_resume_at",  # the wake-ups' comparison implies the index's condition
    }
    with engine.connect() as conn:
        indexes = dict(conn.exec_driver_sql("SELECT name, sql FROM sqlite_master WHERE type = 'index'").all())
        plans = {query: " ".join(row[-1] for row in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {query}"))
                 for query in lookups}
    engine.dispose()
    assert "ix_execution_steps_execution_id" not in indexes
    assert indexes["ix_executions_resume_at"].endswith("WHERE resume_at IS NOT NULL")
    assert indexes["ix_executions_parent_execution_id"].endswith("WHERE parent_execution_id IS NOT NULL")
    for query, index in lookups.items():
        assert "SEARCH" in plans[query] and index in plans[query], (query, plans[query])
    migrate.downgrade(url, "0016_vendor_webhooks")  # and back: the full indexes again
    engine = make_engine(url)
    with engine.connect() as conn:
        indexes = dict(conn.exec_driver_sql("SELECT name, sql FROM sqlite_master WHERE type = 'index'").all())
    engine.dispose()
    assert "ix_execution_steps_execution_id" in indexes and "WHERE" not in indexes["ix_executions_resume_at"]
