import pytest
from fastapi.testclient import TestClient

from backend.app import create_app
from backend.db import migrate
from backend.settings import get_settings


@pytest.fixture
def client():
    migrate.upgrade(get_settings().database_url)
    with TestClient(create_app()) as c:
        yield c


def test_health_is_ok_without_touching_dependencies(client):
    assert client.get("/health").json() == {"status": "ok"}


def test_ready_checks_the_database(client):
    response = client.get("/ready")
    assert response.status_code == 200
    assert response.json()["checks"] == {"database": "ok"}


def test_ready_names_the_failing_part(configure):
    configure(DATABASE_URL="postgresql+psycopg://nobody:x@127.0.0.1:1/none",
              REDIS_URL="redis://127.0.0.1:1/0")
    with TestClient(create_app()) as c:
        response = c.get("/ready")
    assert response.status_code == 503
    body = response.json()
    assert body["failing"] == ["database", "redis"]
    assert body["checks"]["database"].startswith("error: OperationalError")


def test_metrics_count_requests_per_route_template(client):
    client.get("/health")
    client.get("/health")
    text = client.get("/metrics").text
    line = next(row for row in text.splitlines()
                if row.startswith('linkflow_http_requests_total{method="GET",route="/health",status="200"}'))
    assert float(line.rsplit(" ", 1)[1]) >= 2
    assert 'linkflow_http_request_duration_seconds_bucket{le="0.001",method="GET",route="/health"}' in text


def test_errors_have_one_json_shape(client):
    response = client.get("/api/v1/does-not-exist")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_openapi_is_published(client):
    assert client.get("/api/v1/openapi.json").json()["info"]["title"] == "LinkFlow"


@pytest.mark.parametrize(("method", "path", "allowed"), [
    ("PUT", "/api/v1/executions", ["GET"]),
    ("DELETE", "/api/v1/workflows", ["GET", "POST"]),
    ("POST", "/api/v1/executions/some-id", ["GET", "DELETE"]),
])
def test_a_known_path_with_the_wrong_method_is_405_naming_the_allowed_ones(client, method, path, allowed):
    response = client.request(method, path)
    assert response.status_code == 405
    assert response.headers["Allow"] == ", ".join(allowed)
    error = response.json()["error"]
    assert error["code"] == "method_not_allowed" and error["details"] == {"allowed": allowed}
    assert f"{method} is not allowed" in error["message"]


def test_an_unknown_path_stays_404_whatever_the_method(client):
    for method in ("GET", "POST", "PUT", "PATCH", "DELETE"):
        assert client.request(method, "/api/v1/nothing/here").status_code == 404


def test_ready_checks_the_s3_bucket_when_storage_is_s3(configure):
    configure(STORAGE_BACKEND="s3", STORAGE_S3_ENDPOINT_URL="http://127.0.0.1:1", STORAGE_S3_ACCESS_KEY_ID="k",
              STORAGE_S3_SECRET_ACCESS_KEY="s")
    with TestClient(create_app()) as c:
        body = c.get("/ready").json()
    assert body["failing"] == ["storage"]
    assert body["checks"]["storage"].startswith("error: ")
