"""Sending one message on one channel: in-app rows, SMTP mail, Slack, Microsoft Teams, signed webhooks.

Errors follow the house's kinds: a refused address, a 4xx answer, a Slack `ok: false` or a missing
setting raise UserError (retrying cannot help: the event goes to dlq.events with the reason); a
timeout, a dropped connection, a 429 or a 5xx raise TransientError (retried with backoff).

Every HTTP request goes through the address policy (nodes/sdk/net.py, LINKFLOW_HTTP_ALLOW_PRIVATE and
LINKFLOW_HTTP_ALLOW_LIST): a URL whose host is, or resolves to, a private or loopback address is
refused unless an administrator allowed it. Redirects are not followed. Messages name the host and
the status, never the URL's path (a Slack or Teams webhook URL is itself the secret).

The generic webhook is signed: the body is JSON, and
`X-LinkFlow-Signature: v1=<hex HMAC-SHA256(signing_secret, "<X-LinkFlow-Timestamp>.<body>")>`, with
`X-LinkFlow-Timestamp` the Unix time in seconds when it was sent.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import time
import uuid
from dataclasses import dataclass

import httpx
from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite

from backend.credentials.crypto import open_values
from backend.credentials.models import Credential
from backend.db.base import utcnow
from backend.db.session import session_scope
from backend.errors import TransientError, UserError
from backend.notifications.mail import Mail, send_mail
from backend.notifications.models import Notification, NotificationChannel
from backend.outbound import address_policy
from backend.settings import get_settings
from backend.users.models import Membership, User
from nodes.sdk import NodeError
from nodes.sdk.net import AsyncGuardedTransport

SIGNATURE_HEADER = "X-LinkFlow-Signature"
TIMESTAMP_HEADER = "X-LinkFlow-Timestamp"
_IN_APP_IDS = uuid.UUID("c1b5e7a2-94d3-4f6e-b0a8-5e2d7c3f1a49")


@dataclass(frozen=True)
class Message:
    request_id: str
    team_id: str
    kind: str  # e.g. rule.failure, test
    title: str
    body: str = ""
    link: str | None = None
    count: int = 1
    workflow_id: str | None = None
    execution_id: str | None = None


def signature(secret: str, timestamp: str, body: bytes) -> str:
    """The `X-LinkFlow-Signature` value of a webhook body sent at `timestamp`."""
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"v1={digest}"


async def send(channel: NotificationChannel, secrets: dict, message: Message) -> str:
    """Send `message`; a short description of what was done (for "send test")."""
    if channel.kind == "in_app":
        count = await asyncio.to_thread(_in_app, message)
        return f"shown in the bell of {count} member{'s' if count != 1 else ''}"
    if channel.kind == "email":
        return await asyncio.to_thread(_email, channel.config["recipients"], message)
    if channel.kind == "slack":
        return await _slack(channel, secrets, message)
    if channel.kind == "teams":
        return await _post("Microsoft Teams", secrets["webhook_url"], _teams_card(message))
    if channel.kind == "webhook":
        return await _signed(secrets, message)
    raise UserError(f"unknown channel kind {channel.kind!r}")


def _text(message: Message) -> str:
    lines = [message.title]
    if message.body:
        lines.append(message.body)
    return "\n".join(lines)


def _in_app(message: Message) -> int:
    """One bell notification for every active member of the team."""
    with session_scope() as session:
        insert = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}[session.get_bind().dialect.name]
        users = session.scalars(select(User.id).join(Membership, Membership.user_id == User.id).where(
            Membership.team_id == message.team_id, User.is_active.is_(True))).all()
        href = f"/executions/{message.execution_id}" if message.execution_id else ""
        for user_id in users:
            session.execute(insert(Notification).values(
                id=uuid.uuid5(_IN_APP_IDS, f"{message.request_id}:{user_id}").hex, team_id=message.team_id,
                user_id=user_id, channel="in_app", kind=message.kind[:64], subject=message.title[:300],
                body=message.body, status="sent", sent_at=utcnow(),
                payload={"execution_id": message.execution_id, "workflow_id": message.workflow_id,
                         "count": message.count, "href": href},
            ).on_conflict_do_nothing(index_elements=["id"]))
    return len(users)


def _email(recipients: list[str], message: Message) -> str:
    for to in recipients:
        try:
            send_mail(Mail(to=to, subject=message.title[:300], body=_text(message)))
        except Exception as exc:  # SMTP down or refusing: worth another try
            raise TransientError(f"could not mail {to}: {type(exc).__name__}: {exc}") from exc
    return f"mailed {', '.join(recipients)}"


async def _slack(channel: NotificationChannel, secrets: dict, message: Message) -> str:
    text = f"*{message.title}*" + (f"\n{message.body}" if message.body else "")
    if channel.config.get("mode") != "bot":
        return await _post("Slack", secrets["webhook_url"], {"text": text})
    token, base = await asyncio.to_thread(_slack_bot, channel)
    return await _post("Slack", base.rstrip("/") + "/chat.postMessage",
                       {"channel": channel.config["channel"], "text": text},
                       headers={"Authorization": f"Bearer {token}"}, slack_api=True)


def _slack_bot(channel: NotificationChannel) -> tuple[str, str]:
    with session_scope() as session:
        row = session.scalar(select(Credential).where(Credential.id == channel.config["credential_id"],
                                                      Credential.team_id == channel.team_id))
        if row is None or row.type != "slack":
            raise UserError(f"channel {channel.name!r}: its Slack credential no longer exists in this team; "
                            "choose another credential for the channel")
        values = open_values(row)
    return values["bot_token"], values.get("api_base_url") or "https://slack.com/api"


def _teams_card(message: Message) -> dict:
    card = {"@type": "MessageCard", "@context": "https://schema.org/extensions", "summary": message.title[:150],
            "title": message.title, "text": message.body.replace("\n", "  \n")}
    if message.link:
        card["potentialAction"] = [{"@type": "OpenUri", "name": "Open in LinkFlow",
                                    "targets": [{"os": "default", "uri": message.link}]}]
    return card


async def _signed(secrets: dict, message: Message) -> str:
    body = json.dumps({"type": "notification", "request_id": message.request_id, "kind": message.kind,
                       "team_id": message.team_id, "workflow_id": message.workflow_id,
                       "execution_id": message.execution_id, "title": message.title, "body": message.body,
                       "count": message.count, "link": message.link}, separators=(",", ":")).encode()
    timestamp = str(int(time.time()))
    headers = {"Content-Type": "application/json", TIMESTAMP_HEADER: timestamp,
               SIGNATURE_HEADER: signature(secrets["signing_secret"], timestamp, body)}
    return await _post("the webhook", secrets["url"], None, headers=headers, content=body)


async def _post(what: str, url: str, payload: dict | None, *, headers: dict | None = None,
                content: bytes | None = None, slack_api: bool = False) -> str:
    timeout = get_settings().notifications.timeout_s
    target = httpx.URL(url)
    host = target.host or "?"
    try:
        async with httpx.AsyncClient(transport=AsyncGuardedTransport(address_policy()), trust_env=False,
                                     timeout=timeout, follow_redirects=False) as client:
            response = await client.post(target, json=payload, content=content, headers=headers)
    except NodeError as exc:  # refused by the address policy, or an unknown host
        raise UserError(f"{what}: {exc}") from None
    except httpx.TimeoutException:
        raise TransientError(f"{what} at {host} did not answer within {timeout:g} s") from None
    except (httpx.InvalidURL, httpx.UnsupportedProtocol):
        raise UserError(f"{what}: the URL is not a valid http(s) URL; edit the channel") from None
    except httpx.TransportError as exc:
        raise TransientError(f"could not reach {what} at {host}: {type(exc).__name__}") from None
    status = response.status_code
    if status == 429 or status >= 500:
        raise TransientError(f"{what} at {host} answered {status}; trying again later")
    if status >= 300:
        # Slack's and Teams' answers name the problem (no_service, invalid_token, ...); an answer to a request
        # that carried a token is not shown, as a server may echo what it was sent.
        said = "" if headers and "Authorization" in headers else f" ({response.text[:200]!r})"
        raise UserError(f"{what} at {host} answered {status}{said}; check the channel's URL or token")
    if slack_api:
        answer = response.json() if response.headers.get("content-type", "").startswith("application/json") else {}
        if answer.get("ok") is not True:
            error = answer.get("error", "no ok in the answer")
            if error == "ratelimited":
                raise TransientError("Slack rate-limited the message; trying again later")
            raise UserError(f"Slack refused the message: {error}; check the bot token and the channel")
    return f"{what} at {host} answered {status}"
