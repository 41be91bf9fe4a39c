"""Notices that must reach a user once per occasion (e.g. "80 % of this period's executions used").

The caller names the occasion with a key; each (key, user, channel) becomes one notification row
with an id derived from it, so a second try (a redelivered event, a reconciliation) finds the row
and changes nothing, and a mail goes out once it is recorded (again only if sending failed).
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from backend.db.base import utcnow
from backend.db.session import session_scope
from backend.notifications.mail import Mail, send_mail
from backend.notifications.models import Notification

log = logging.getLogger("linkflow.notifications")
_IDS = uuid.UUID("0b7d3c52-61e4-4f0e-8a8f-2f6d1c9b4e77")
MAX_ERROR_CHARS = 2000


@dataclass(frozen=True)
class Notice:
    kind: str  # e.g. billing.usage_80
    key: str  # the occasion, unique per kind: e.g. "<team>:<period>"
    team_id: str
    subject: str
    body: str
    payload: dict  # shown to the UI; "href" is where the bell's item leads


def notice_id(notice: Notice, user_id: str, channel: str) -> str:
    return uuid.uuid5(_IDS, f"{notice.kind}:{notice.key}:{user_id}:{channel}").hex


def record(session: Session, notice: Notice, user_id: str, email: str) -> tuple[str, Mail] | None:
    """The in-app row and a pending mail row for one user; (mail row id, mail) while it is unsent."""
    insert = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}[session.get_bind().dialect.name]
    mail = Mail(to=email, subject=notice.subject, body=notice.body)
    for channel, status in (("in_app", "sent"), ("email", "pending")):
        session.execute(insert(Notification).values(
            id=notice_id(notice, user_id, channel), team_id=notice.team_id, user_id=user_id, channel=channel,
            kind=notice.kind, subject=notice.subject[:300], body=notice.body, payload=notice.payload,
            status=status, sent_at=utcnow() if status == "sent" else None,
        ).on_conflict_do_nothing(index_elements=["id"]))
    email_id = notice_id(notice, user_id, "email")
    status = session.scalar(select(Notification.status).where(Notification.id == email_id))
    return None if status == "sent" else (email_id, mail)


def deliver(pending: list[tuple[str, Mail]]) -> int:
    """Send the mails ``record`` left pending (after its transaction committed); how many failed. A
    failure is logged and kept on its row (the in-app notice is there either way)."""
    failed = 0
    for row_id, mail in pending:
        try:
            send_mail(mail)
        except Exception as exc:  # SMTP down or refusing
            log.warning("could not send a notice mail", extra={"to": mail.to, "subject": mail.subject,
                                                               "error": f"{type(exc).__name__}: {exc}"})
            _settle(row_id, "failed", f"{type(exc).__name__}: {exc}"[:MAX_ERROR_CHARS])
            failed += 1
        else:
            _settle(row_id, "sent", None)
    return failed


def _settle(row_id: str, status: str, error: str | None) -> None:
    with session_scope() as session:
        session.execute(update(Notification).where(Notification.id == row_id).values(
            status=status, error=error, sent_at=utcnow() if status == "sent" else None))
