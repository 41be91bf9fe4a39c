"""Helpers shared by the auth and team tests (imported as a plain module, like engine_testkit)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from urllib.parse import parse_qs, urlparse

from sqlalchemy import select

from backend.db.session import session_scope
from backend.events.models import OutboxEvent
from backend.settings import get_settings
from backend.users.models import Role

PASSWORD = "correct horse battery staple"


@dataclass
class Account:
    email: str
    password: str
    user_id: str
    team_id: str  # the personal team
    access_token: str
    refresh_token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.access_token}"}

    def in_team(self, team_id: str) -> dict[str, str]:
        return {**self.headers, "X-Team-Id": team_id}


def signup(api, email: str, password: str = PASSWORD, name: str = "") -> Account:
    response = api.post("/api/v1/auth/signup", json={"email": email, "password": password, "name": name})
    assert response.status_code == 201, response.text
    body = response.json()
    return Account(email, password, body["user"]["id"], body["team"]["id"], body["access_token"],
                   body["refresh_token"])


def mails(to: str | None = None) -> list[dict]:
    path = get_settings().data_dir / "outbox.jsonl"
    if not path.exists():
        return []
    sent = [json.loads(line) for line in path.read_text().splitlines()]
    return [m for m in sent if to is None or m["to"] == to]


def link_token(mail: dict, path: str) -> str:
    """The `token` query parameter of the `path` link in a mail body."""
    url = next(word for word in mail["body"].split() if urlparse(word).path == path)
    return parse_qs(urlparse(url).query)["token"][0]


def invite(api, owner: Account, email: str, role: Role, team_id: str | None = None) -> str:
    team_id = team_id or owner.team_id
    response = api.post(f"/api/v1/teams/{team_id}/invitations", json={"email": email, "role": role.value},
                        headers=owner.headers)
    assert response.status_code == 201, response.text
    return link_token(mails(email)[-1], "/invite")


def add_member(api, owner: Account, member: Account, role: Role, team_id: str | None = None) -> None:
    token = invite(api, owner, member.email, role, team_id)
    response = api.post("/api/v1/teams/invitations/accept", json={"token": token}, headers=member.headers)
    assert response.status_code == 200, response.text


def audit_actions() -> list[str]:
    with session_scope() as session:
        payloads = session.scalars(select(OutboxEvent.payload).where(OutboxEvent.topic == "audit.log")
                                   .order_by(OutboxEvent.id))
        return [p["action"] for p in payloads]


def audit_events() -> list[dict]:
    """The payloads of every `audit.log` outbox event, oldest first."""
    with session_scope() as session:
        return list(session.scalars(select(OutboxEvent.payload).where(OutboxEvent.topic == "audit.log")
                                    .order_by(OutboxEvent.id)))


@dataclass
class TwoFactor:
    secret: str
    recovery_codes: list[str]
    last_step: int  # the newest time step a code was used for: only later codes work

    def next_code(self) -> str:
        """A code the server accepts now: the current step's, or the next one if that was used."""
        from backend.auth import totp

        self.last_step = max(totp.current_step(), self.last_step + 1)
        return totp.code_for(self.secret, self.last_step)


def enable_two_factor(api, account: Account) -> TwoFactor:
    """Enrol `account` through the API, like the Settings → Security tab does."""
    from backend.auth import totp

    setup = api.post("/api/v1/auth/2fa/setup", headers=account.headers)
    assert setup.status_code == 200, setup.text
    secret, step = setup.json()["secret"], totp.current_step()
    enabled = api.post("/api/v1/auth/2fa/enable", json={"code": totp.code_for(secret, step)},
                       headers=account.headers)
    assert enabled.status_code == 200, enabled.text
    return TwoFactor(secret, enabled.json()["recovery_codes"], step)
