"""The `notification-delivery` consumer: notification.requested events in, messages out on their channel.

Each request is sent once: its `notification_deliveries` row (keyed by the event's request_id, else
by its event_id) turns `sent` after the channel took the message, and a redelivered event finds it so
and sends nothing. A failure is kept on the row and raised: the consumer runner retries transient
ones with backoff (backend/events/consumers.py) and sends the event to dlq.events with the reason
once it gives up, or at once when retrying cannot help (a refused address, a 4xx, a deleted channel).
A crash between the channel taking the message and the row being marked sends it again (at least once).
"""

from __future__ import annotations

import uuid

from sqlalchemy import update
from sqlalchemy.dialects import postgresql, sqlite

from backend.db.base import utcnow
from backend.db.session import session_scope
from backend.errors import UserError
from backend.events.bus import Event
from backend.notifications.channels import open_secrets
from backend.notifications.models import NotificationChannel, NotificationDelivery
from backend.notifications.senders import Message, send

_IDS = uuid.UUID("9d2e4b61-7a3c-4f08-b5e1-2c6f8a0d3e74")
MAX_ERROR_CHARS = 2000


async def handle(event: Event) -> None:
    if event.payload.get("type") == "notification.requested":
        await deliver(event.payload)


def delivery_id(payload: dict) -> str:
    if payload.get("request_id"):
        return str(payload["request_id"])
    if payload.get("event_id") is not None:
        return uuid.uuid5(_IDS, f"event:{payload['event_id']}").hex
    raise UserError("the notification request has neither request_id nor event_id, so it cannot be sent "
                    "exactly once; produce it through the outbox (backend.events.outbox.emit)")


async def deliver(payload: dict) -> bool:
    """Send one requested notification unless it was sent already; whether it was sent now."""
    row_id = delivery_id(payload)
    loaded = _load(row_id, payload)
    if loaded is None:
        return False
    channel, secrets = loaded
    message = Message(request_id=row_id, team_id=payload["team_id"], kind=payload["kind"], title=payload["title"],
                      body=payload.get("body") or "", link=payload.get("link"), count=payload.get("count") or 1,
                      workflow_id=payload.get("workflow_id"), execution_id=payload.get("execution_id"))
    try:
        await send(channel, secrets, message)
    except Exception as exc:
        _settle(row_id, "failed", f"{type(exc).__name__}: {exc}"[:MAX_ERROR_CHARS])
        raise
    _settle(row_id, "sent", None)
    return True


def _load(row_id: str, payload: dict) -> tuple[NotificationChannel, dict] | None:
    """The channel and its secrets, or None when this request was sent already."""
    with session_scope() as session:
        insert = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}[session.get_bind().dialect.name]
        session.execute(insert(NotificationDelivery).values(
            id=row_id, team_id=payload["team_id"], channel_id=None, title=payload["title"][:500],
        ).on_conflict_do_nothing(index_elements=["id"]))  # a request that came from elsewhere gets its row
        row = session.get(NotificationDelivery, row_id, with_for_update=True)
        if row.status == "sent":
            return None
        row.attempts += 1
        channel_id = payload.get("channel_id")
        channel = session.get(NotificationChannel, channel_id) if channel_id else None
        if channel is None or channel.team_id != payload["team_id"]:
            reason = (f"notification channel {channel_id!r} does not exist in team {payload['team_id']!r} "
                      "(deleted since?); the message cannot be sent")
            row.status, row.error = "failed", reason
            session.commit()
            raise UserError(reason)
        if row.channel_id is None:
            row.channel_id = channel.id
        secrets = open_secrets(channel)
        session.expunge(channel)
        return channel, secrets


def _settle(row_id: str, status: str, error: str | None) -> None:
    with session_scope() as session:
        session.execute(update(NotificationDelivery).where(NotificationDelivery.id == row_id).values(
            status=status, error=error, sent_at=utcnow() if status == "sent" else None))

