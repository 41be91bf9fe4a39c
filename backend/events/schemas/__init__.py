"""Every event's schema, validated where it is produced (`outbox.emit`, the webhook group commit, the
dead-letter path) and where it is consumed (`consumers.deliver`: an event that fails goes to dlq.events
with the reason, without retries). README's "Events" section is generated from these models (`docs.py`).
"""

from __future__ import annotations

from pydantic import ValidationError

from backend.events.schemas import execution, other, webhook, workflow  # noqa: F401 - they register
from backend.events.schemas.base import DEFAULT_TYPE, REGISTRY, EventSchema

MAX_REASON_ERRORS = 3


class InvalidEvent(ValueError):
    """An event that matches no schema, or not its own, or has the wrong key."""


def schema_for(topic: str, payload: dict) -> type[EventSchema]:
    kind = payload.get("type", DEFAULT_TYPE.get(topic))
    version = payload.get("schema_version", 1)
    model = REGISTRY.get((topic, kind, version)) if isinstance(kind, str) and isinstance(version, int) else None
    if model is None:
        known = sorted(f"{t} v{v}" for (name, t, v) in REGISTRY if name == topic)
        raise InvalidEvent(f"{topic} has no event type {_short(kind)} version {_short(version)}; "
                           f"known: {', '.join(known) or 'none'}")
    return model


def validate(topic: str, key: str, payload: object) -> EventSchema:
    """The event as its schema reads it; raises InvalidEvent saying what is wrong (never the values)."""
    if not isinstance(payload, dict):
        raise InvalidEvent(f"a {topic} event must be a JSON object, not {type(payload).__name__}")
    model = schema_for(topic, payload)
    try:
        event = model.model_validate(payload)
    except ValidationError as exc:
        raise InvalidEvent(f"{topic} event {model.event_type} v{model.VERSION} does not match its schema: "
                           f"{_reasons(exc)}") from None
    expected = event.partition_key()
    if key != expected:
        raise InvalidEvent(f"{topic} event {model.event_type} has key {_short(key)}; its key is its "
                           f"{model.key_field} {_short(expected)} (events of one entity share a partition)")
    return event


def _reasons(exc: ValidationError) -> str:
    errors = exc.errors(include_url=False, include_input=False)
    parts = [f"{'.'.join(str(p) for p in error['loc']) or '(event)'}: {error['msg']}"
             for error in errors[:MAX_REASON_ERRORS]]
    more = len(errors) - MAX_REASON_ERRORS
    return "; ".join(parts) + (f" (and {more} more)" if more > 0 else "")


def _short(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


__all__ = ["REGISTRY", "EventSchema", "InvalidEvent", "schema_for", "validate"]
