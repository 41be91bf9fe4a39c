from sqlalchemy import inspect

from backend.db import migrate
from backend.db.models import metadata
from backend.db.session import make_engine
from tests.unit.backend.db.migration_checks import check_billing_migration, check_lost_attempts_migration


def test_upgrade_downgrade_upgrade_on_postgres(postgres_url):
    migrate.upgrade(postgres_url)
    engine = make_engine(postgres_url)
    try:
        assert set(metadata.tables) <= set(inspect(engine).get_table_names())
        migrate.downgrade(postgres_url, "base")
        assert inspect(engine).get_table_names() == ["alembic_version"]
        migrate.upgrade(postgres_url)
        assert set(metadata.tables) <= set(inspect(engine).get_table_names())
        assert migrate.current_revision(engine) is not None
    finally:
        engine.dispose()


def test_models_and_migrations_do_not_drift_on_postgres(postgres_url):
    migrate.upgrade(postgres_url)
    assert migrate.drift(postgres_url) == []


def test_json_columns_are_jsonb_on_postgres(postgres_url):
    migrate.upgrade(postgres_url)
    engine = make_engine(postgres_url)
    try:
        columns = {c["name"]: c for c in inspect(engine).get_columns("workflow_versions")}
        assert type(columns["definition"]["type"]).__name__ == "JSONB"
    finally:
        engine.dispose()


def test_the_two_factor_migration_keeps_existing_rows_on_postgres(postgres_url):
    migrate.upgrade(postgres_url, "0006_sharing_heartbeats")
    engine = make_engine(postgres_url)
    try:
        with engine.begin() as conn:
            conn.exec_driver_sql("INSERT INTO teams (id, name, slug, created_at, updated_at) "
                                 "VALUES ('t1', 'Ops', 'ops', now(), now())")
        migrate.upgrade(postgres_url)
        with engine.connect() as conn:
            assert conn.exec_driver_sql("SELECT require_2fa FROM teams").scalar() is False
        assert {"two_factor_secrets", "recovery_codes"} <= set(inspect(engine).get_table_names())
        migrate.downgrade(postgres_url, "0006_sharing_heartbeats")
        inspector = inspect(engine)
        assert not {"two_factor_secrets", "recovery_codes"} & set(inspector.get_table_names())
        assert "require_2fa" not in {c["name"] for c in inspector.get_columns("teams")}
        assert "auth_method" not in {c["name"] for c in inspector.get_columns("refresh_tokens")}
        with engine.connect() as conn:
            assert conn.exec_driver_sql("SELECT name FROM teams").scalar() == "Ops"
    finally:
        engine.dispose()


def test_lost_attempts_columns_upgrade_and_downgrade_with_rows_on_postgres(postgres_url):
    check_lost_attempts_migration(postgres_url)


def test_the_billing_migration_evolves_plans_and_usage_with_rows_on_postgres(postgres_url):
    check_billing_migration(postgres_url)
