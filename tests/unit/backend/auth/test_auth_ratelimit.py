"""Rate limits on /api/v1: per IP when anonymous, per key or user when authenticated; 429 + Retry-After."""

from __future__ import annotations

import asyncio

import pytest
from fastapi.testclient import TestClient

from backend.app import create_app
from backend.auth import ratelimit
from backend.auth.ratelimit import MemoryCounters
from backend.db import migrate
from backend.settings import get_settings


@pytest.fixture
def limited(configure, monkeypatch):
    """An app allowing 3 anonymous and 5 authenticated requests a minute, 45 s into a window."""
    monkeypatch.setattr(ratelimit, "clock", lambda: 1000 * 60 + 45.0)
    configure(SECURITY_RATE_LIMIT_ANONYMOUS_PER_MINUTE="3", SECURITY_RATE_LIMIT_AUTHENTICATED_PER_MINUTE="5")
    migrate.upgrade(get_settings().database_url)
    with TestClient(create_app()) as client:
        yield client


def test_anonymous_callers_get_429_with_retry_after_past_the_limit(limited):
    statuses = [limited.get("/api/v1/teams").status_code for _ in range(4)]
    assert statuses == [401, 401, 401, 429]
    blocked = limited.get("/api/v1/teams")
    assert blocked.headers["Retry-After"] == "15", "seconds until the window ends"
    error = blocked.json()["error"]
    assert error["code"] == "rate_limited" and "3 per minute" in error["message"]


def test_health_and_non_api_paths_are_not_limited(limited):
    for _ in range(5):
        limited.get("/api/v1/teams")
    assert limited.get("/health").status_code == 200
    assert limited.get("/metrics").status_code == 200
    assert limited.get("/webhook/anything").status_code == 404


def test_a_signed_in_user_has_the_authenticated_limit_and_their_own_bucket(limited):
    signup = limited.post("/api/v1/auth/signup", json={"email": "a@example.com", "password": "long enough pw"})
    headers = {"Authorization": f"Bearer {signup.json()['access_token']}"}
    statuses = [limited.get("/api/v1/auth/me", headers=headers).status_code for _ in range(6)]
    assert statuses == [200] * 5 + [429]
    assert limited.get("/api/v1/teams").status_code == 401, "anonymous budget: 1 used by sign-up, 2 left"


def test_made_up_api_keys_are_throttled_by_the_callers_ip(limited):
    statuses = [limited.get("/api/v1/teams", headers={"X-API-Key": f"lf_guess{i}"}).status_code
                for i in range(5)]
    assert statuses == [401, 401, 401, 429, 429], "each guess is a new key, but failures count per IP"


def test_memory_counters_start_again_each_window():
    counters = MemoryCounters()

    async def scenario() -> list[int]:
        return [await counters.hit("ip:a", 1), await counters.hit("ip:a", 1), await counters.hit("ip:b", 1),
                await counters.hit("ip:a", 2), await counters.count("ip:b", 2)]

    assert asyncio.run(scenario()) == [1, 2, 1, 1, 0]


def test_an_unreachable_redis_does_not_take_the_api_down(configure, caplog):
    configure(CACHE_BACKEND="redis", REDIS_URL="redis://127.0.0.1:1/0", SECURITY_RATE_LIMIT_ANONYMOUS_PER_MINUTE="1")
    migrate.upgrade(get_settings().database_url)
    with TestClient(create_app()) as client:
        statuses = [client.get("/api/v1/teams").status_code for _ in range(3)]
    assert statuses == [401, 401, 401], "served (unlimited) rather than failed"
    assert "rate limits are not enforced" in caplog.text
