from sqlalchemy import inspect

from backend.db import migrate
from backend.db.models import metadata
from backend.db.session import make_engine
from tests.unit.backend.db.migration_checks import check_lost_attempts_migration


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
