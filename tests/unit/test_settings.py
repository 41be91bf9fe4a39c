import pytest
from pydantic import ValidationError

from backend.settings import DEV_SECRET, Settings


def test_embedded_defaults_need_no_configuration(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("LINKFLOW_DATA_DIR")
    s = Settings()
    assert s.mode == "local"
    assert s.database_url == f"sqlite:///{tmp_path / 'data' / 'linkflow.db'}"
    assert (s.queue.backend, s.events.backend, s.cache.backend) == ("memory", "memory", "memory")
    assert (s.search.backend, s.storage.backend, s.billing.backend) == ("sql", "local", "free")
    assert s.public_url == "http://127.0.0.1:3000"


def test_flat_variables_fill_nested_groups(monkeypatch):
    monkeypatch.setenv("LINKFLOW_DATABASE_URL", "postgresql+psycopg://u:p@127.0.0.1:5432/lf")
    monkeypatch.setenv("LINKFLOW_QUEUE_BACKEND", "redis")
    monkeypatch.setenv("LINKFLOW_REDIS_URL", "redis://127.0.0.1:6379/0")
    monkeypatch.setenv("LINKFLOW_EVENTS_KAFKA_BOOTSTRAP", "127.0.0.1:9092")
    monkeypatch.setenv("LINKFLOW_HTTP_ALLOW_PRIVATE", "true")
    s = Settings()
    assert s.database_url.startswith("postgresql+psycopg://")
    assert s.queue.backend == "redis"
    assert s.events.kafka_bootstrap == "127.0.0.1:9092"
    assert s.http.allow_private is True


def test_unknown_adapter_is_refused_with_the_allowed_values(monkeypatch):
    monkeypatch.setenv("LINKFLOW_QUEUE_BACKEND", "rabbitmq")
    with pytest.raises(ValidationError, match="memory.*redis"):
        Settings()


def test_redis_backends_require_a_redis_url(monkeypatch):
    monkeypatch.setenv("LINKFLOW_CACHE_BACKEND", "redis")
    with pytest.raises(ValidationError, match="LINKFLOW_REDIS_URL is required"):
        Settings()


def test_production_refuses_development_secrets(monkeypatch):
    monkeypatch.setenv("LINKFLOW_MODE", "production")
    with pytest.raises(ValidationError) as info:
        Settings()
    message = str(info.value)
    assert "LINKFLOW_SECURITY_SECRET_KEY" in message and "LINKFLOW_SECURITY_VAULT_KEYS" in message


def test_production_starts_with_real_secrets(monkeypatch):
    monkeypatch.setenv("LINKFLOW_MODE", "production")
    monkeypatch.setenv("LINKFLOW_SECURITY_SECRET_KEY", "x" * 48)
    monkeypatch.setenv("LINKFLOW_SECURITY_VAULT_KEYS", "k1:" + "A" * 43 + "=")
    s = Settings()
    assert s.security.secret_key != DEV_SECRET
