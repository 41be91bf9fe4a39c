"""Notification channels: the one registry of channel kinds, their settings, and the only writer of
`notification_channels`.

A channel's settings are split in two: `config` (shown back: recipients, a Slack channel name, the
Slack credential's id) and secrets (webhook URLs, the signing secret), sealed with the credentials
vault (AES-256-GCM, the associated data binding them to the channel's row) and never returned.
"""

from __future__ import annotations

import json
import re
from typing import Annotated, Literal

import httpx
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.credentials.crypto import current_vault
from backend.credentials.models import Credential
from backend.db.base import new_id
from backend.errors import Conflict, NotFound, UserError
from backend.events.outbox import emit
from backend.notifications.models import NotificationChannel
from backend.outbound import address_policy
from nodes.sdk import NodeError
from nodes.sdk.net import AddressRefused, checked_addresses

Kind = Literal["in_app", "email", "slack", "teams", "webhook"]
_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,255}$")


def _http_url(value: str) -> str:
    if not re.match(r"^https?://[^\s/]+", value):
        raise ValueError("must be an http(s) URL, e.g. https://hooks.slack.com/services/...")
    return value


Url = Annotated[str, Field(min_length=8, max_length=2000)]


class _Closed(BaseModel):
    model_config = ConfigDict(extra="forbid")


class NoSettings(_Closed):
    pass


class EmailConfig(_Closed):
    recipients: Annotated[list[Annotated[str, Field(max_length=320)]], Field(min_length=1, max_length=20)]

    @field_validator("recipients")
    @classmethod
    def _addresses(cls, value: list[str]) -> list[str]:
        bad = [v for v in value if not _EMAIL.match(v)]
        if bad:
            raise ValueError(f"{bad[0]!r} is not an email address")
        return value


class SlackConfig(_Closed):
    mode: Literal["webhook", "bot"] = "webhook"
    channel: Annotated[str, Field(max_length=100)] = ""  # bot: the channel to post in, e.g. #alerts
    credential_id: Annotated[str, Field(max_length=32)] = ""  # bot: a Slack credential of this team


class WebhookUrl(_Closed):
    webhook_url: Url

    _url = field_validator("webhook_url")(_http_url)


class SlackSecrets(_Closed):
    webhook_url: Url | None = None  # mode webhook: the incoming webhook URL

    @field_validator("webhook_url")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        return None if value is None else _http_url(value)


class SignedWebhookSecrets(_Closed):
    url: Url
    signing_secret: Annotated[str, Field(min_length=16, max_length=200)]

    _url = field_validator("url")(_http_url)


CONFIG: dict[str, type[BaseModel]] = {"in_app": NoSettings, "email": EmailConfig, "slack": SlackConfig,
                                      "teams": NoSettings, "webhook": NoSettings}
SECRETS: dict[str, type[BaseModel]] = {"in_app": NoSettings, "email": NoSettings, "slack": SlackSecrets,
                                       "teams": WebhookUrl, "webhook": SignedWebhookSecrets}


def channel_aad(team_id: str, channel_id: str) -> bytes:
    return f"notification-channel:{team_id}:{channel_id}".encode()


def open_secrets(channel: NotificationChannel) -> dict:
    if not channel.ciphertext:
        return {}
    what = f"notification channel {channel.name!r} ({channel.id})"
    return json.loads(current_vault().open(channel.key_id, channel.ciphertext,
                                           channel_aad(channel.team_id, channel.id), what))


def _seal(channel: NotificationChannel, secrets: dict) -> None:
    secrets = {k: v for k, v in secrets.items() if v is not None}
    if not secrets:
        channel.key_id, channel.ciphertext = None, None
        return
    plaintext = json.dumps(secrets, separators=(",", ":")).encode()
    channel.key_id, channel.ciphertext = current_vault().seal(plaintext, channel_aad(channel.team_id, channel.id))


def _validated(model: type[BaseModel], values: dict, what: str, *, echo: bool) -> dict:
    try:
        return model.model_validate(values).model_dump()
    except ValidationError as exc:  # secrets are described without their values
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc']) or what}: {e['msg']}"
                             for e in exc.errors(include_input=echo, include_url=False))
        raise UserError(f"the {what} do not fit this channel kind: {problems}") from None


def secret_names(channel: NotificationChannel) -> list[str]:
    """Which secrets are set (their names only)."""
    return sorted(open_secrets(channel)) if channel.ciphertext else []


def list_channels(session: Session, team_id: str) -> list[NotificationChannel]:
    return list(session.scalars(select(NotificationChannel).where(NotificationChannel.team_id == team_id)
                                .order_by(NotificationChannel.name)))


def get_channel(session: Session, team_id: str, channel_id: str) -> NotificationChannel:
    channel = session.get(NotificationChannel, channel_id)
    if channel is None or channel.team_id != team_id:  # another team's channel reads as missing
        raise NotFound(f"notification channel {channel_id!r} does not exist in this team")
    return channel


def create_channel(session: Session, *, team_id: str, user_id: str | None, name: str, kind: str,
                   config: dict, secrets: dict) -> NotificationChannel:
    channel = NotificationChannel(id=new_id(), team_id=team_id, name=name.strip(), kind=kind, created_by=user_id)
    channel.config = _validated(CONFIG[kind], config, "config", echo=True)
    sealed = _validated(SECRETS[kind], secrets, "secrets", echo=False)
    _check(session, channel, sealed)
    _seal(channel, sealed)
    session.add(channel)
    _flush_unique(session, channel)
    _audit(session, channel, "notification_channel.create", user_id)
    session.flush()
    return channel


def update_channel(session: Session, channel: NotificationChannel, *, user_id: str | None, name: str | None,
                   config: dict | None, secrets: dict | None) -> NotificationChannel:
    """Secrets given replace those of the same name; secrets not given stay as they are."""
    if name is not None:
        channel.name = name.strip()
    if config is not None:
        channel.config = _validated(CONFIG[channel.kind], config, "config", echo=True)
    merged = {**open_secrets(channel), **(secrets or {})}
    sealed = _validated(SECRETS[channel.kind], merged, "secrets", echo=False)
    _check(session, channel, sealed)
    _seal(channel, sealed)
    _flush_unique(session, channel)
    _audit(session, channel, "notification_channel.update", user_id)
    return channel


def delete_channel(session: Session, channel: NotificationChannel, *, user_id: str | None) -> None:
    _audit(session, channel, "notification_channel.delete", user_id)
    session.delete(channel)  # its rules go with it (ON DELETE CASCADE)
    session.flush()


def _check(session: Session, channel: NotificationChannel, secrets: dict) -> None:
    _check_addresses(secrets)
    if channel.kind != "slack":
        return
    config = channel.config
    if config["mode"] == "webhook" and not secrets.get("webhook_url"):
        raise UserError("a Slack channel in webhook mode needs secrets.webhook_url (the incoming webhook URL "
                        "from Slack's app settings)")
    if config["mode"] == "bot":
        if not config["channel"] or not config["credential_id"]:
            raise UserError("a Slack channel in bot mode needs config.channel (e.g. #alerts) and "
                            "config.credential_id (a Slack credential of this team)")
        credential = session.scalar(select(Credential).where(Credential.id == config["credential_id"],
                                                             Credential.team_id == channel.team_id))
        if credential is None or credential.type != "slack":
            raise UserError(f"credential {config['credential_id']!r} is not a Slack credential of this team; "
                            "create one of type 'slack' under Credentials")


def _check_addresses(secrets: dict) -> None:
    """Refuse a URL whose host is, or resolves to, an address the policy forbids (loopback, private, metadata).

    The same check runs again at every send (a name may resolve elsewhere later); this one tells the person
    creating the channel at once instead of at the first failure. A name that does not resolve now is let
    through: the send will say so.
    """
    policy = address_policy()
    for key in ("webhook_url", "url"):
        url = secrets.get(key)
        if not url:
            continue
        try:
            parsed = httpx.URL(url)
        except httpx.InvalidURL:
            raise UserError(f"secrets.{key} is not a valid http(s) URL") from None
        try:
            checked_addresses(parsed.host, parsed.port, policy)
        except AddressRefused as exc:
            raise UserError(f"secrets.{key}: {exc}") from None
        except NodeError:  # does not resolve now: the send says so
            continue


def _flush_unique(session: Session, channel: NotificationChannel) -> None:
    if not channel.name:
        raise UserError("a notification channel needs a name, e.g. \"#ops alerts\"")
    with session.no_autoflush:
        taken = session.scalar(select(NotificationChannel.id).where(
            NotificationChannel.team_id == channel.team_id, NotificationChannel.name == channel.name,
            NotificationChannel.id != channel.id))
    if taken is not None:
        raise Conflict(f"a notification channel named {channel.name!r} already exists in this team; choose "
                       "another name")
    session.flush()


def _audit(session: Session, channel: NotificationChannel, action: str, user_id: str | None) -> None:
    emit(session, "audit.log", channel.team_id, {
        "action": action, "actor_id": user_id, "actor_type": "user" if user_id else "system",
        "team_id": channel.team_id, "object_type": "notification_channel", "object_id": channel.id,
        "details": {"name": channel.name, "kind": channel.kind}})
