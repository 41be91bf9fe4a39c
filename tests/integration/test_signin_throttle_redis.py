"""The per-account sign-in throttle on real Redis: API pods share one count per account."""

from __future__ import annotations

import threading

import redis
from fastapi.testclient import TestClient

from backend.app import create_app
from backend.auth.throttle import Policy, RedisStore, SigninThrottle
from backend.db import migrate
from backend.settings import get_settings

LOGIN = "/api/v1/auth/login"


def test_pods_sharing_redis_lock_an_account_together(configure, redis_url):
    configure(CACHE_BACKEND="redis", REDIS_URL=redis_url)
    migrate.upgrade(get_settings().database_url)
    now = [2_000_000.0]
    pods = [create_app(), create_app()]  # two API processes: each has its own throttle object
    for pod in pods:
        pod.state.signin_throttle.clock = lambda: now[0]
    signup = TestClient(pods[0]).post("/api/v1/auth/signup",
                                      json={"email": "victim@example.com", "password": "the right password"})
    assert signup.status_code == 201
    attackers = [TestClient(pods[i % 2], client=(f"203.0.113.{i}", 40000)) for i in range(10)]
    statuses = [attackers[i % 10].post(LOGIN, json={"email": "victim@example.com", "password": f"guess {i}"})
                .status_code for i in range(50)]
    assert statuses == [401] * 4 + [429] * 46

    for pod in pods:
        right = TestClient(pod).post(LOGIN, json={"email": "victim@example.com", "password": "the right password"})
        assert right.status_code == 429 and right.headers["Retry-After"] == "60"
    ttl = redis.Redis.from_url(redis_url).pttl(f"linkflow:signin:{SigninThrottle.key('victim@example.com')}")
    assert 0 < ttl <= (60 + 900) * 1000, "the record expires by itself"
    now[0] += 61
    assert TestClient(pods[1]).post(LOGIN, json={"email": "victim@example.com",
                                                 "password": "the right password"}).status_code == 200
    assert redis.Redis.from_url(redis_url).exists(
        f"linkflow:signin:{SigninThrottle.key('victim@example.com')}") == 0, "a sign-in clears the count"


def test_concurrent_failures_on_several_pods_are_all_counted(redis_url):
    policy = Policy(failures_before_lock=1000)
    pods = [SigninThrottle(RedisStore(redis_url), policy, clock=lambda: 3_000_000.0) for _ in range(4)]
    outcomes = []

    def guess(pod: SigninThrottle) -> None:
        for _ in range(10):
            outcomes.append(pod.failed("ada@example.com").failures)

    threads = [threading.Thread(target=guess, args=(pods[i % 4],)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == list(range(1, 81)), "WATCH/MULTI: no failure lost between pods"


def test_the_back_off_doubles_across_pods(redis_url):
    now = [4_000_000.0]
    first, second = (SigninThrottle(RedisStore(redis_url), Policy(), clock=lambda: now[0]) for _ in range(2))
    for _ in range(4):
        assert first.failed("ada@example.com").locked_for == 0
    assert second.failed("ada@example.com").locked_for == 60
    now[0] += 61
    assert first.failed("ada@example.com").locked_for == 120
    second.succeeded("ada@example.com")
    assert first.failed("ada@example.com").failures == 1
