"""The base of every event schema: the envelope fields, the partition key, and the registry.

A schema is one pydantic model per event type and version. Declaring one registers it under
(topic, type, version); a duplicate, an unknown topic or a key field the model lacks raises when
the module is imported. Fields are closed (`extra="forbid"`): a producer that adds a field adds
it to the schema first, or makes a new version.
"""

from __future__ import annotations

import json
from typing import Annotated, Any, ClassVar

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from backend.events.topics import TOPIC_SPECS

MAX_DETAIL_BYTES = 16_384  # a free-form part of an event (an error, audit details), serialised

Id = Annotated[str, Field(min_length=1, max_length=100)]
Name = Annotated[str, Field(max_length=200)]
Moment = Annotated[str, Field(max_length=40)]  # ISO 8601


def _small(value: Any) -> Any:
    size = len(json.dumps(value, default=str))
    if size > MAX_DETAIL_BYTES:
        raise ValueError(f"is {size} bytes serialised; at most {MAX_DETAIL_BYTES} belong in an event")
    return value


Detail = Annotated[dict[str, Any], AfterValidator(_small)]
ErrorDetail = Annotated[dict[str, Any] | str | None, AfterValidator(_small)]

REGISTRY: dict[tuple[str, str, int], type[EventSchema]] = {}
DEFAULT_TYPE: dict[str, str] = {}  # topics whose events carry no `type` field: the one type they have


class EventSchema(BaseModel):
    """Envelope fields every event may carry: `event_id` and `occurred_at` (added by the relay),
    `traceparent` (tracing), and `schema_version` (absent means 1)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    topic: ClassVar[str]
    event_type: ClassVar[str]
    VERSION: ClassVar[int] = 1
    key_field: ClassVar[str]
    key_doc: ClassVar[str] = ""  # how the docs name the key when key_field is a property
    untyped: ClassVar[bool] = False  # payloads carry no `type` (the topic's only event type)

    schema_version: int = 1
    event_id: int | None = None
    occurred_at: Moment | None = None
    traceparent: Annotated[str, Field(max_length=100)] | None = None

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if cls.__dict__.get("abstract"):
            return
        for name in ("topic", "event_type", "key_field"):
            if not isinstance(getattr(cls, name, None), str):
                raise TypeError(f"event schema {cls.__name__} needs a ClassVar {name!r}")
        if cls.topic not in TOPIC_SPECS:
            raise TypeError(f"event schema {cls.__name__}: unknown topic {cls.topic!r}; topics are listed in "
                            "backend/events/topics.py")
        entry = (cls.topic, cls.event_type, cls.VERSION)
        if entry in REGISTRY:
            raise TypeError(f"event schema {cls.__name__} repeats {entry} of {REGISTRY[entry].__name__}; "
                            "a new version of an event type sets VERSION = 2, 3, ...")
        REGISTRY[entry] = cls
        if cls.untyped:
            DEFAULT_TYPE[cls.topic] = cls.event_type

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        if cls.__dict__.get("abstract"):
            return
        if cls.key_field not in cls.model_fields and not isinstance(getattr(cls, cls.key_field, None), property):
            raise TypeError(f"event schema {cls.__name__}: key field {cls.key_field!r} is not one of its fields")

    def partition_key(self) -> str:
        """The Kafka key: events of one entity share it, so they stay in one partition, in order."""
        return str(getattr(self, self.key_field) or "")
