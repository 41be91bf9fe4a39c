"""Per-account sign-in throttling: a guesser spread over many addresses still locks the account,
the lock tells nothing (a right password is refused too), backs off exponentially, and is audited."""

from __future__ import annotations

import pytest
from auth_testkit import audit_events
from fastapi.testclient import TestClient

from backend.app import create_app
from backend.auth import throttle as throttle_module
from backend.auth.throttle import MemoryStore, Policy, Record
from backend.db import migrate
from backend.settings import get_settings

LOGIN = "/api/v1/auth/login"
LOCKED = "too many failed sign-ins for this account; try again in {} s"


@pytest.fixture
def clock(api):
    """The throttle's clock, moved by hand: `clock[0] += 61`."""
    now = [1_000_000.0]
    api.app.state.signin_throttle.clock = lambda: now[0]
    return now


def from_ip(api, ip: str) -> TestClient:
    return TestClient(api.app, client=(ip, 40000))


def sign_in(client, email: str, password: str):
    return client.post(LOGIN, json={"email": email, "password": password})


def events(action: str, **details) -> list[dict]:
    return [e for e in audit_events() if e["action"] == action
            and all(e["details"].get(k) == v for k, v in details.items())]


def test_fifty_wrong_passwords_from_ten_addresses_lock_the_account(api, signup, clock):
    victim, bystander = signup("victim@example.com"), signup("bystander@example.com")
    attackers = [from_ip(api, f"203.0.113.{i}") for i in range(10)]
    statuses = [sign_in(attackers[i % 10], " Victim@Example.COM", f"guess number {i}").status_code
                for i in range(50)]
    assert statuses == [401] * 4 + [429] * 46, "the normalised email is the key, whatever the address"

    refused = sign_in(attackers[0], victim.email, victim.password)
    assert refused.status_code == 429, "the right password is refused while locked"
    assert refused.headers["Retry-After"] == "60"
    assert refused.json()["error"] == {"code": "account_locked", "message": LOCKED.format(60),
                                       "details": {"retry_after": 60}}
    assert "access_token" not in refused.text

    assert sign_in(attackers[3], bystander.email, bystander.password).status_code == 200, "others unaffected"
    clock[0] += 30
    assert sign_in(api, victim.email, victim.password).headers["Retry-After"] == "30"
    clock[0] += 31
    assert sign_in(attackers[5], victim.email, victim.password).status_code == 200, "unlocked after the back-off"


def test_the_lock_and_every_refusal_are_in_the_accounts_audit_trail(api, signup, clock):
    victim = signup("victim@example.com")
    for i in range(7):
        sign_in(from_ip(api, f"198.51.100.{i}"), victim.email, "not the password")
    sign_in(api, victim.email, victim.password)

    wrong = events("auth.login_failed", reason="wrong_password")
    assert [e["details"]["failures"] for e in wrong] == [1, 2, 3, 4, 5]
    assert {e["team_id"] for e in wrong} == {victim.team_id} and wrong[0]["ip"] == "198.51.100.0"
    assert len(events("auth.login_failed", reason="locked")) == 3, "2 guesses and the right password"
    [locked] = events("auth.signin_locked")
    assert locked["details"] == {"after": "auth.login_failed", "failures": 5, "locked_seconds": 60}
    assert locked["object_id"] == victim.user_id and locked["team_id"] == victim.team_id
    assert locked["ip"] == "198.51.100.4"


def test_each_failure_after_a_lock_doubles_it_up_to_the_maximum(api, signup, clock):
    victim = signup("victim@example.com")
    for _ in range(5):
        response = sign_in(api, victim.email, "wrong password")
    waits = [int(response.headers["Retry-After"])]
    for _ in range(6):
        clock[0] += waits[-1] + 1
        response = sign_in(api, victim.email, "wrong password")
        assert response.status_code == 429
        waits.append(int(response.headers["Retry-After"]))
    assert waits == [60, 120, 240, 480, 900, 900, 900]
    assert [e["details"]["locked_seconds"] for e in events("auth.signin_locked")] == waits


def test_a_successful_sign_in_resets_the_count(api, signup, clock):
    victim = signup("victim@example.com")
    for _ in range(4):
        sign_in(api, victim.email, "wrong password")
    assert sign_in(api, victim.email, victim.password).status_code == 200
    statuses = [sign_in(api, victim.email, "wrong password").status_code for _ in range(5)]
    assert statuses == [401] * 4 + [429]


def test_failures_are_forgotten_after_a_quiet_window(api, signup, clock):
    victim = signup("victim@example.com")
    for _ in range(4):
        sign_in(api, victim.email, "wrong password")
    clock[0] += 901
    assert [sign_in(api, victim.email, "wrong password").status_code for _ in range(4)] == [401] * 4


def test_an_unknown_email_is_locked_exactly_like_an_account(api, signup, clock):
    known = signup("known@example.com")
    answers = {}
    for email in (known.email, "nobody@example.com"):
        responses = [sign_in(api, email, "wrong password") for _ in range(6)]
        answers[email] = [(r.status_code, r.json(), r.headers.get("Retry-After")) for r in responses]
    assert answers[known.email] == answers["nobody@example.com"], "a lock must not tell who is registered"
    unknown = events("auth.login_failed", reason="unknown_email")
    assert len(unknown) == 5 and {e["team_id"] for e in unknown} == {None}
    assert {e["details"]["email"] for e in unknown} == {"nobody@example.com"}
    [locked] = [e for e in events("auth.signin_locked") if e["team_id"] is None]
    assert locked["details"]["email"] == "nobody@example.com" and locked["object_id"] == ""


def test_a_disabled_account_is_refused_without_counting(api, signup, clock):
    from backend.db.session import session_scope
    from backend.users.models import User

    victim = signup("victim@example.com")
    with session_scope() as session:
        session.get(User, victim.user_id).is_active = False
    assert [sign_in(api, victim.email, victim.password).status_code for _ in range(6)] == [401] * 6
    assert len(events("auth.login_failed", reason="disabled")) == 6 and events("auth.signin_locked") == []


def test_the_current_password_of_a_password_change_counts_toward_the_lock(api, signup, clock):
    victim = signup("victim@example.com")
    change = {"current_password": "a guess at it", "new_password": "a new long password"}
    statuses = [api.post("/api/v1/users/me/password", json=change, headers=victim.headers).status_code
                for _ in range(5)]
    assert statuses == [403] * 4 + [429]
    right = api.post("/api/v1/users/me/password", headers=victim.headers,
                     json={"current_password": victim.password, "new_password": "a new long password"})
    assert right.status_code == 429, "the right current password is refused while locked"
    assert sign_in(api, victim.email, victim.password).status_code == 429, "one lock for every way in"
    patch = api.patch("/api/v1/users/me", headers=victim.headers,
                      json={"password": "a new long password", "current_password": victim.password})
    assert patch.status_code == 429
    failed = events("user.password_change_failed", reason="wrong_password")
    assert len(failed) == 5 and failed[0]["actor_id"] == victim.user_id
    assert len(events("user.password_change_failed", reason="locked")) == 2
    assert events("auth.signin_locked")[0]["details"]["after"] == "user.password_change_failed"
    clock[0] += 61
    assert api.post("/api/v1/users/me/password", headers=victim.headers,
                    json={"current_password": victim.password, "new_password": "a new long password"}
                    ).status_code == 200


def test_settings_shape_the_policy(configure, clock):
    configure(SECURITY_SIGNIN_FAILURES_BEFORE_LOCK="2", SECURITY_SIGNIN_LOCK_SECONDS="10",
              SECURITY_SIGNIN_LOCK_MAX_SECONDS="15")
    assert Policy.from_settings(get_settings()) == Policy(2, 900, 10, 15)
    assert [Policy(2, 900, 10, 15).lock_for(n) for n in range(1, 6)] == [0, 10, 15, 15, 15]


def test_an_unreachable_redis_lets_sign_ins_through(configure, signup, caplog):
    configure(CACHE_BACKEND="redis", REDIS_URL="redis://127.0.0.1:1/0")
    migrate.upgrade(get_settings().database_url)
    with TestClient(create_app()) as client:
        client.post("/api/v1/auth/signup", json={"email": "a@example.com", "password": "long enough pw"})
        statuses = [sign_in(client, "a@example.com", "wrong password").status_code for _ in range(6)]
        assert statuses == [401] * 6, "served (unthrottled) rather than failed"
        assert sign_in(client, "a@example.com", "long enough pw").status_code == 200
    assert "sign-in throttling is not enforced" in caplog.text


def test_the_memory_store_forgets_the_oldest_accounts_beyond_its_size(monkeypatch):
    monkeypatch.setattr(throttle_module, "MEMORY_MAX_ACCOUNTS", 3)
    store, policy = MemoryStore(), Policy()
    for i in range(5):
        store.update(f"k{i}", lambda r: r.after_failure(100.0, policy), 100.0, policy)
    assert [store.get(f"k{i}", 100.0).failures for i in range(5)] == [0, 0, 1, 1, 1]
    assert store.get("k4", 100.0 + policy.window + 1) == Record(), "expired"
