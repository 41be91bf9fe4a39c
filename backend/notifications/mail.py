"""The mail port: SMTP when `LINKFLOW_MAIL_SMTP_HOST` is set, else one JSON line per mail in
`<data_dir>/outbox.jsonl` (the embedded default; tests and local runs read links from it)."""

from __future__ import annotations

import json
import logging
import smtplib
import threading
from dataclasses import asdict, dataclass
from email.message import EmailMessage
from pathlib import Path
from typing import Protocol

from backend.db.base import utcnow
from backend.settings import MailSettings, get_settings

log = logging.getLogger("linkflow.mail")


@dataclass(frozen=True)
class Mail:
    to: str
    subject: str
    body: str


class Mailer(Protocol):
    def send(self, mail: Mail) -> None: ...


class SmtpMailer:
    def __init__(self, settings: MailSettings) -> None:
        self.settings = settings

    def send(self, mail: Mail) -> None:
        message = EmailMessage()
        message["From"] = self.settings.sender
        message["To"] = mail.to
        message["Subject"] = mail.subject
        message.set_content(mail.body)
        with smtplib.SMTP(self.settings.smtp_host, self.settings.smtp_port, timeout=30) as smtp:
            if self.settings.smtp_starttls:
                smtp.starttls()
            if self.settings.smtp_user:
                smtp.login(self.settings.smtp_user, self.settings.smtp_password)
            smtp.send_message(message)


class OutboxFileMailer:
    _lock = threading.Lock()  # one line per mail even when requests send concurrently

    def __init__(self, path: Path, sender: str) -> None:
        self.path = path
        self.sender = sender

    def send(self, mail: Mail) -> None:
        line = json.dumps({"from": self.sender, **asdict(mail), "sent_at": utcnow().isoformat()})
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._lock, self.path.open("a", encoding="utf-8") as out:
            out.write(line + "\n")


def get_mailer() -> Mailer:
    settings = get_settings()
    if settings.mail.smtp_host:
        return SmtpMailer(settings.mail)
    return OutboxFileMailer(settings.data_dir / "outbox.jsonl", settings.mail.sender)


def mail_is_delivered() -> bool:
    """Whether mails reach their recipients (SMTP), rather than the local outbox file."""
    return bool(get_settings().mail.smtp_host)


def send_mail(mail: Mail) -> None:
    get_mailer().send(mail)


def send_in_background(mail: Mail) -> None:
    """For BackgroundTasks: the response is already sent, so a failure can only be logged."""
    try:
        send_mail(mail)
    except Exception:  # SMTP down, bad credentials...: report it, the caller cannot retry anyway
        log.exception("could not send mail", extra={"to": mail.to, "subject": mail.subject})
