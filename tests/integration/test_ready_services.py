from fastapi.testclient import TestClient

from backend.app import create_app
from backend.db import migrate


def test_ready_with_real_postgres_and_redis(configure, postgres_url, redis_url):
    configure(DATABASE_URL=postgres_url, REDIS_URL=redis_url, QUEUE_BACKEND="redis")
    migrate.upgrade(postgres_url)
    with TestClient(create_app()) as client:
        response = client.get("/ready")
    assert response.status_code == 200, response.text
    assert response.json()["checks"] == {"database": "ok", "redis": "ok"}


def test_ready_reports_redis_down_while_postgres_is_up(configure, postgres_url):
    configure(DATABASE_URL=postgres_url, REDIS_URL="redis://127.0.0.1:1/0", QUEUE_BACKEND="redis")
    with TestClient(create_app()) as client:
        response = client.get("/ready")
    assert response.status_code == 503
    assert response.json()["failing"] == ["redis"]
    assert response.json()["checks"]["database"] == "ok"
