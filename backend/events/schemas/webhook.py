"""webhook.events: keyed by workflow id. What was asked and answered, never bodies, headers or secrets."""

from __future__ import annotations

from typing import Annotated, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

from backend.events.schemas.base import EventSchema, Id, Moment, Name


class AnsweredRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    node_id: Name
    execution_id: Id | None = None
    mode: Literal["webhook", "test"]
    method: Literal["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"]
    path: Annotated[str, Field(max_length=300)]  # the registered path, never the query string
    status: Annotated[int, Field(ge=100, le=599)]
    latency_ms: Annotated[float, Field(ge=0)]
    request_bytes: Annotated[int, Field(ge=0)]
    response_bytes: Annotated[int, Field(ge=0)]
    received_at: Moment


class WebhookAnswered(EventSchema):
    """Webhook requests of one workflow received and answered (production and test URLs); the requests
    of one moment share one event."""

    topic: ClassVar[str] = "webhook.events"
    event_type: ClassVar[str] = "webhook.answered"
    key_field: ClassVar[str] = "workflow_id"

    type: Literal["webhook.answered"]
    workflow_id: Id
    team_id: Id
    requests: Annotated[list[AnsweredRequest], Field(min_length=1, max_length=1000)]
