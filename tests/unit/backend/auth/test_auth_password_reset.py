"""Password reset by mailed link: always 202, single use, one hour, signs every session out."""

from __future__ import annotations

import socket
import threading

import pytest
from aiosmtpd.controller import Controller
from auth_testkit import PASSWORD, link_token, mails
from sqlalchemy import select

from backend.auth.models import PasswordResetToken
from backend.db.session import session_scope
from backend.notifications.mail import Mail, send_mail

RESET = "/api/v1/auth/password-reset"
NEW_PASSWORD = "a brand new password"


def request_reset(api, email: str):
    return api.post(f"{RESET}/request", json={"email": email})


def test_reset_end_to_end_through_the_mailed_link(api, signup):
    account = signup("ada@example.com")
    response = request_reset(api, "Ada@example.com")
    assert response.status_code == 202
    [mail] = mails("ada@example.com")
    assert "/reset-password?token=" in mail["body"] and mail["from"].startswith("LinkFlow")
    token = link_token(mail, "/reset-password")
    with session_scope() as session:
        assert session.scalar(select(PasswordResetToken.token_hash)) != token, "stored hashed"

    confirmed = api.post(f"{RESET}/confirm", json={"token": token, "new_password": NEW_PASSWORD})
    assert confirmed.status_code == 204
    login = lambda pw: api.post("/api/v1/auth/login", json={"email": "ada@example.com", "password": pw})  # noqa: E731
    assert login(PASSWORD).status_code == 401
    assert login(NEW_PASSWORD).status_code == 200
    refreshed = api.post("/api/v1/auth/refresh", json={"refresh_token": account.refresh_token})
    assert refreshed.status_code == 401, "every earlier session is signed out"

    again = api.post(f"{RESET}/confirm", json={"token": token, "new_password": "yet another password"})
    assert again.status_code == 400 and "invalid, used or expired" in again.json()["error"]["message"]


def test_an_unknown_email_gets_the_same_answer_and_no_mail(api, signup):
    signup("ada@example.com")
    known, unknown = request_reset(api, "ada@example.com"), request_reset(api, "nobody@example.com")
    assert known.status_code == unknown.status_code == 202
    assert known.json() == unknown.json()
    assert [m["to"] for m in mails()] == ["ada@example.com"]


def test_an_expired_link_is_refused(api, signup):
    signup("ada@example.com")
    request_reset(api, "ada@example.com")
    token = link_token(mails()[-1], "/reset-password")
    with session_scope() as session:
        reset = session.scalar(select(PasswordResetToken))
        reset.expires_at = reset.created_at
    response = api.post(f"{RESET}/confirm", json={"token": token, "new_password": NEW_PASSWORD})
    assert response.status_code == 400


def test_a_weak_new_password_is_refused_and_the_link_still_works(api, signup):
    signup("ada@example.com")
    request_reset(api, "ada@example.com")
    token = link_token(mails()[-1], "/reset-password")
    weak = api.post(f"{RESET}/confirm", json={"token": token, "new_password": "short"})
    assert weak.status_code == 400 and "at least 8" in weak.json()["error"]["message"]
    assert api.post(f"{RESET}/confirm", json={"token": token, "new_password": NEW_PASSWORD}).status_code == 204


class _Inbox:
    def __init__(self) -> None:
        self.messages: list[bytes] = []
        self.received = threading.Event()

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
        self.messages.append(envelope.content)
        self.received.set()
        return "250 OK"


@pytest.fixture
def smtp_inbox():
    inbox = _Inbox()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    yield inbox, controller.port
    controller.stop()


def test_mail_goes_over_smtp_when_a_host_is_configured(configure, smtp_inbox):
    inbox, port = smtp_inbox
    configure(MAIL_SMTP_HOST="127.0.0.1", MAIL_SMTP_PORT=str(port), MAIL_SMTP_STARTTLS="false")
    send_mail(Mail(to="ada@example.com", subject="Reset your LinkFlow password", body="the link"))
    assert inbox.received.wait(5)
    assert b"Subject: Reset your LinkFlow password" in inbox.messages[0]
    assert b"To: ada@example.com" in inbox.messages[0]
    assert mails() == [], "nothing goes to the outbox file"
