"""The auth and team-isolation flow on real PostgreSQL, and the rate limiter on real Redis."""

from __future__ import annotations

import json
from urllib.parse import parse_qs, urlparse

import pytest
import redis
from fastapi.testclient import TestClient

from backend.app import create_app
from backend.auth import ratelimit
from backend.db import migrate
from backend.settings import get_settings

PASSWORD = "correct horse battery staple"


@pytest.fixture
def pg_api(configure, postgres_url):
    configure(DATABASE_URL=postgres_url)
    migrate.upgrade(postgres_url)
    with TestClient(create_app()) as client:
        yield client


def signup(api, email: str) -> dict:
    response = api.post("/api/v1/auth/signup", json={"email": email, "password": PASSWORD})
    assert response.status_code == 201, response.text
    body = response.json()
    return {"id": body["user"]["id"], "team": body["team"]["id"], "refresh": body["refresh_token"],
            "headers": {"Authorization": f"Bearer {body['access_token']}"}}


def last_link_token(to: str) -> str:
    lines = (get_settings().data_dir / "outbox.jsonl").read_text().splitlines()
    body = [json.loads(line) for line in lines if json.loads(line)["to"] == to][-1]["body"]
    url = next(word for word in body.split() if "token=" in word)
    return parse_qs(urlparse(url).query)["token"][0]


def test_sign_in_refresh_rotation_and_reuse_detection_on_postgres(pg_api):
    alice = signup(pg_api, "alice@example.com")
    assert pg_api.post("/api/v1/auth/signup", json={"email": "ALICE@example.com", "password": PASSWORD}).status_code == 409
    login = pg_api.post("/api/v1/auth/login", json={"email": "alice@example.com", "password": PASSWORD})
    assert login.status_code == 200
    assert pg_api.post("/api/v1/auth/login", json={"email": "alice@example.com", "password": "x" * 10}).status_code == 401

    rotated = pg_api.post("/api/v1/auth/refresh", json={"refresh_token": alice["refresh"]})
    assert rotated.status_code == 200
    assert pg_api.post("/api/v1/auth/refresh", json={"refresh_token": alice["refresh"]}).status_code == 401
    assert pg_api.post("/api/v1/auth/refresh", json={"refresh_token": rotated.json()["refresh_token"]}).status_code == 401
    assert pg_api.post("/api/v1/auth/refresh", json={"refresh_token": login.json()["refresh_token"]}).status_code == 200


def test_team_isolation_roles_and_api_keys_on_postgres(pg_api):
    alice, bob, carol = (signup(pg_api, f"{n}@example.com") for n in ("alice", "bob", "carol"))
    invited = pg_api.post(f"/api/v1/teams/{bob['team']}/invitations", json={"email": "carol@example.com",
                                                                            "role": "editor"}, headers=bob["headers"])
    assert invited.status_code == 201
    accepted = pg_api.post("/api/v1/teams/invitations/accept", json={"token": last_link_token("carol@example.com")},
                           headers=carol["headers"])
    assert accepted.status_code == 200 and accepted.json()["role"] == "editor"

    key = pg_api.post("/api/v1/api-keys", json={"name": "ci"},
                      headers={**carol["headers"], "X-Team-Id": bob["team"]}).json()
    assert pg_api.get("/api/v1/api-keys", headers={"X-API-Key": key["key"]}).status_code == 200

    for path in ("", "/members", "/invitations"):
        assert pg_api.get(f"/api/v1/teams/{bob['team']}{path}", headers=alice["headers"]).status_code == 404
    assert pg_api.delete(f"/api/v1/api-keys/{key['id']}", headers=alice["headers"]).status_code == 404
    assert pg_api.get("/api/v1/api-keys", headers={**alice["headers"], "X-Team-Id": bob["team"]}).status_code == 403
    assert pg_api.patch(f"/api/v1/teams/{bob['team']}/members/{carol['id']}", json={"role": "viewer"},
                        headers=alice["headers"]).status_code == 404

    last_owner = pg_api.patch(f"/api/v1/teams/{bob['team']}/members/{bob['id']}", json={"role": "admin"},
                              headers=bob["headers"])
    assert last_owner.status_code == 409
    demoted = pg_api.patch(f"/api/v1/teams/{bob['team']}/members/{carol['id']}", json={"role": "viewer"},
                           headers=bob["headers"])
    assert demoted.status_code == 200
    assert pg_api.post("/api/v1/api-keys", json={"name": "x"}, headers={"X-API-Key": key["key"]}).status_code == 403
    assert pg_api.delete(f"/api/v1/api-keys/{key['id']}", headers=bob["headers"]).status_code == 204
    assert pg_api.get("/api/v1/api-keys", headers={"X-API-Key": key["key"]}).status_code == 401


def test_password_reset_on_postgres(pg_api):
    alice = signup(pg_api, "alice@example.com")
    assert pg_api.post("/api/v1/auth/password-reset/request", json={"email": "alice@example.com"}).status_code == 202
    token = last_link_token("alice@example.com")
    confirm = {"token": token, "new_password": "a new password"}
    assert pg_api.post("/api/v1/auth/password-reset/confirm", json=confirm).status_code == 204
    assert pg_api.post("/api/v1/auth/password-reset/confirm", json=confirm).status_code == 400
    assert pg_api.post("/api/v1/auth/refresh", json={"refresh_token": alice["refresh"]}).status_code == 401


@pytest.fixture
def redis_limited(configure, redis_url, monkeypatch):
    monkeypatch.setattr(ratelimit, "clock", lambda: 2000 * 60 + 50.0)  # 10 s before the window ends
    configure(CACHE_BACKEND="redis", REDIS_URL=redis_url, SECURITY_RATE_LIMIT_ANONYMOUS_PER_MINUTE="3",
              SECURITY_RATE_LIMIT_AUTHENTICATED_PER_MINUTE="4")
    migrate.upgrade(get_settings().database_url)
    return redis_url


def test_redis_rate_limits_are_shared_by_every_api_process(redis_limited):
    with TestClient(create_app()) as pod_a, TestClient(create_app()) as pod_b:
        assert [pod_a.get("/api/v1/teams").status_code for _ in range(3)] == [401] * 3
        blocked = pod_b.get("/api/v1/teams")
        assert blocked.status_code == 429 and blocked.headers["Retry-After"] == "10"
        assert blocked.json()["error"]["code"] == "rate_limited"
        assert pod_b.get("/health").status_code == 200

    store = redis.Redis.from_url(redis_limited)
    [key] = store.keys("linkflow:ratelimit:*")
    assert int(store.get(key)) == 4 and 0 < store.ttl(key) <= 120


def test_redis_authenticated_limit_is_per_user(redis_limited):
    with TestClient(create_app()) as api:
        token = api.post("/api/v1/auth/signup", json={"email": "a@example.com", "password": PASSWORD}).json()
        headers = {"Authorization": f"Bearer {token['access_token']}"}
        assert [api.get("/api/v1/auth/me", headers=headers).status_code for _ in range(5)] == [200] * 4 + [429]
        assert api.get("/api/v1/teams").status_code == 401, "the anonymous budget is separate"
