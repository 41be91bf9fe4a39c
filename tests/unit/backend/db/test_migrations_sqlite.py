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


def test_lost_attempts_columns_upgrade_and_downgrade_with_rows_on_sqlite(tmp_path):
    check_lost_attempts_migration(f"sqlite:///{tmp_path / 'l.db'}")
