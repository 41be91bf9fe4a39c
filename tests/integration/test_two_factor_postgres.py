"""Two-factor sign-in on real PostgreSQL (and the sign-in lock on real Redis): a code or a recovery
code raced by parallel requests is accepted once, and a team's requirement confines a member."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
from fastapi.testclient import TestClient

from backend.app import create_app
from backend.auth import totp
from backend.db import migrate

PASSWORD = "correct horse battery staple"


@pytest.fixture
def app(configure, postgres_url, redis_url, monkeypatch):
    configure(DATABASE_URL=postgres_url, CACHE_BACKEND="redis", REDIS_URL=redis_url)
    migrate.upgrade(postgres_url)
    monkeypatch.setattr(totp, "clock", lambda: 1_800_000_000.0)
    return create_app()


def account(api: TestClient, email: str) -> dict:
    body = api.post("/api/v1/auth/signup", json={"email": email, "password": PASSWORD}).json()
    return {"email": email, "team": body["team"]["id"], "headers": {"Authorization": f"Bearer {body['access_token']}"}}


def enrol(api: TestClient, who: dict) -> tuple[str, list[str]]:
    secret = api.post("/api/v1/auth/2fa/setup", headers=who["headers"]).json()["secret"]
    enabled = api.post("/api/v1/auth/2fa/enable", headers=who["headers"],
                       json={"code": totp.code_for(secret, totp.current_step())})
    assert enabled.status_code == 200, enabled.text
    return secret, enabled.json()["recovery_codes"]


def race(app, who: dict, code: str, tries: int = 6) -> list[int]:
    """`tries` sign-ins at once, each with its own mfa token and the same code."""
    clients = [TestClient(app, client=(f"192.0.2.{i}", 40000)) for i in range(tries)]
    tokens = [c.post("/api/v1/auth/login", json={"email": who["email"], "password": PASSWORD}).json()["mfa_token"]
              for c in clients]
    with ThreadPoolExecutor(tries) as pool:
        answers = pool.map(lambda pair: pair[0].post("/api/v1/auth/login/mfa",
                                                      json={"mfa_token": pair[1], "code": code}),
                           zip(clients, tokens, strict=True))
        return sorted(a.status_code for a in answers)


def test_a_code_and_a_recovery_code_raced_in_parallel_work_once(app):
    api = TestClient(app)
    ada = account(api, "ada@example.com")
    secret, recovery = enrol(api, ada)
    assert race(app, ada, totp.code_for(secret, totp.current_step() + 1), tries=4) == [200, 401, 401, 401]
    assert race(app, ada, recovery[0], tries=4) == [200, 401, 401, 401]
    status = api.get("/api/v1/auth/2fa", headers=ada["headers"]).json()
    assert status["enabled"] is True and status["recovery_codes_left"] == 9


def test_a_team_requirement_confines_a_member_on_postgres(app):
    api = TestClient(app)
    owner, member = account(api, "owner@example.com"), account(api, "member@example.com")
    enrol(api, owner)
    invitation = api.post(f"/api/v1/teams/{owner['team']}/invitations", headers=owner["headers"],
                          json={"email": member["email"], "role": "editor"}).json()
    token = invitation["invite_url"].split("token=", 1)[1]
    assert api.post("/api/v1/teams/invitations/accept", json={"token": token},
                    headers=member["headers"]).status_code == 200
    assert api.put(f"/api/v1/teams/{owner['team']}/security", json={"require_2fa": True},
                   headers=owner["headers"]).status_code == 200
    in_team = {**member["headers"], "X-Team-Id": owner["team"]}
    assert api.get("/api/v1/workflows", headers=in_team).json()["error"]["code"] == "two_factor_required"
    enrol(api, member)
    assert api.get("/api/v1/workflows", headers=in_team).status_code == 200
