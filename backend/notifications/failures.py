"""Tell a workflow's creator that a production run of it failed: an in-app notification always,
and a mail when their `email_on_failure` preference is on.

Events arrive at least once, so every notification's id is derived from (execution, user,
channel): a redelivered event finds its rows and sends no second mail once one went out. A
crash between handing the mail to SMTP and recording it sends it again (at least once).
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass

from sqlalchemy import update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from backend.db.base import utcnow
from backend.db.session import session_scope
from backend.errors import TransientError
from backend.notifications import service
from backend.notifications.mail import Mail, send_mail
from backend.notifications.models import Notification
from backend.settings import get_settings
from backend.users.models import User
from backend.users.teams import is_member
from backend.workflows.models import Workflow

log = logging.getLogger("linkflow.notifications")
KIND = "execution.failed"
QUIET_MODES = frozenset({"manual"})  # whoever pressed Run in the editor is watching it fail
_IDS = uuid.UUID("6a1c3e0e-5f43-4d1e-9a52-0d8f3b1c7e21")
MAX_ERROR_CHARS = 2000


@dataclass(frozen=True)
class Failure:
    execution_id: str
    workflow_id: str
    team_id: str
    mode: str
    message: str
    node: str | None
    event_id: int | None

    @classmethod
    def from_event(cls, payload: dict) -> Failure | None:
        """The failure an `execution.events` payload reports, or None when there is nobody to tell."""
        if payload.get("type") != KIND or payload.get("mode") in QUIET_MODES:
            return None
        if not payload.get("workflow_id") or not payload.get("execution_id"):
            return None  # an inline definition (e.g. `linkflow run`) belongs to no one
        error = payload.get("error") if isinstance(payload.get("error"), dict) else {}
        return cls(execution_id=str(payload["execution_id"]), workflow_id=str(payload["workflow_id"]),
                   team_id=str(payload.get("team_id") or ""), mode=str(payload.get("mode") or ""),
                   message=str(error.get("message") or "no error message was recorded")[:MAX_ERROR_CHARS],
                   node=error.get("node"), event_id=payload.get("event_id"))


def notification_id(execution_id: str, user_id: str, channel: str) -> str:
    return uuid.uuid5(_IDS, f"{KIND}:{execution_id}:{user_id}:{channel}").hex


def handle_failure_event(payload: dict) -> None:
    """Record and (per preference) mail one failure; safe to call again with the same event."""
    failure = Failure.from_event(payload)
    if failure is None:
        return
    with session_scope() as session:
        pending = _record(session, failure)
    if pending is not None:
        _send(*pending)


def _record(session: Session, failure: Failure) -> tuple[str, Mail] | None:
    """Write the notifications; (email notification id, mail) when a mail still has to go out."""
    workflow = session.get(Workflow, failure.workflow_id)
    if workflow is None or workflow.created_by is None:
        return None  # deleted since, or its creator's account is gone
    owner = session.get(User, workflow.created_by)
    if owner is None or not owner.is_active or not is_member(session, workflow.team_id, owner.id):
        return None  # someone who left the team no longer hears about its workflows
    mail = _mail(owner, workflow, failure)
    _insert_once(session, failure, owner.id, workflow.team_id, "in_app", mail, status="sent")
    if not service.email_on_failure(session, owner.id):
        return None
    email_id = _insert_once(session, failure, owner.id, workflow.team_id, "email", mail, status="pending")
    status = session.get(Notification, email_id).status
    return None if status == "sent" else (email_id, mail)


def _insert_once(session: Session, failure: Failure, user_id: str, team_id: str, channel: str, mail: Mail,
                 *, status: str) -> str:
    row_id = notification_id(failure.execution_id, user_id, channel)
    insert = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}[session.get_bind().dialect.name]
    session.execute(insert(Notification).values(
        id=row_id, team_id=team_id, user_id=user_id, channel=channel, kind=KIND, subject=mail.subject,
        body=mail.body, status=status, sent_at=utcnow() if status == "sent" else None,
        payload={"execution_id": failure.execution_id, "workflow_id": failure.workflow_id,
                 "mode": failure.mode, "node": failure.node, "event_id": failure.event_id},
    ).on_conflict_do_nothing(index_elements=["id"]))
    return row_id


def _mail(owner: User, workflow: Workflow, failure: Failure) -> Mail:
    where = f" at node \"{failure.node}\"" if failure.node else ""
    link = f"{get_settings().public_url}/executions/{failure.execution_id}"
    body = (f"Hello {owner.name or owner.email},\n\n"
            f"A {failure.mode or 'production'} run of your workflow \"{workflow.name}\" failed{where}:\n\n"
            f"    {failure.message}\n\n"
            f"Execution {failure.execution_id}: {link}\n\n"
            "You get this mail because \"Email me when my workflows fail\" is on in Settings > "
            "Notifications; turn it off there to stop these mails.")
    return Mail(to=owner.email, subject=f"Workflow \"{workflow.name[:200]}\" failed", body=body)


def _send(notification_id_: str, mail: Mail) -> None:
    try:
        send_mail(mail)
    except Exception as exc:  # SMTP down or refusing: recorded, and the event is retried (then dead-lettered)
        _settle(notification_id_, "failed", f"{type(exc).__name__}: {exc}"[:MAX_ERROR_CHARS])
        raise TransientError(f"could not mail {mail.to}: {exc}") from exc
    _settle(notification_id_, "sent", None)


def _settle(row_id: str, status: str, error: str | None) -> None:
    with session_scope() as session:
        session.execute(update(Notification).where(Notification.id == row_id).values(
            status=status, error=error, sent_at=utcnow() if status == "sent" else None))
