"""schedule.triggers, notification.events, analytics.events, audit.log and dlq.events."""

from __future__ import annotations

from typing import Annotated, Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

from backend.events.schemas.base import Detail, EventSchema, Id, Moment, Name
from backend.events.schemas.execution import Mode, Status


class ScheduleFired(EventSchema):
    topic: ClassVar[str] = "schedule.triggers"
    event_type: ClassVar[str] = "schedule.fired"
    key_field: ClassVar[str] = "workflow_id"

    type: Literal["schedule.fired"]
    schedule_id: Id
    workflow_id: Id
    team_id: Id
    node_id: Name
    execution_id: Id
    scheduled_at: Moment


class NotificationRequested(EventSchema):
    """A message for someone, to deliver on a channel."""

    topic: ClassVar[str] = "notification.events"
    event_type: ClassVar[str] = "notification.requested"
    key_field: ClassVar[str] = "team_id"

    type: Literal["notification.requested"]
    team_id: Id
    user_id: Id | None = None
    channel: Literal["in_app", "email", "slack", "teams", "webhook"]
    kind: Name
    title: Annotated[str, Field(max_length=500)]
    body: Annotated[str, Field(max_length=10_000)] = ""
    execution_id: Id | None = None
    workflow_id: Id | None = None
    # Set by the rule evaluator (backend/notifications/evaluator.py): the delivery consumer sends each
    # request_id once, to the team's channel channel_id; count is how many occurrences the message sums up.
    request_id: Id | None = None
    channel_id: Id | None = None
    rule_id: Id | None = None
    count: Annotated[int, Field(ge=1)] = 1
    link: Annotated[str, Field(max_length=2000)] | None = None


class UsageFact(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    execution_id: Id
    mode: Mode
    status: Status
    finished_at: Moment | None = None
    duration_ms: Annotated[float, Field(ge=0)] | None = None
    nodes: Annotated[int, Field(ge=0)] = 0  # node runs
    items: Annotated[int, Field(ge=0)] = 0  # items of its result
    failed_node: Name | None = None


class ExecutionUsage(EventSchema):
    """Usage facts for Insights: finished executions of one workflow (those finishing together share one event)."""

    topic: ClassVar[str] = "analytics.events"
    event_type: ClassVar[str] = "usage.executions"
    key_field: ClassVar[str] = "entity"
    key_doc: ClassVar[str] = "workflow_id, else the first execution_id"

    type: Literal["usage.executions"]
    team_id: Id
    workflow_id: Id | None = None
    executions: Annotated[list[UsageFact], Field(min_length=1, max_length=1000)]

    @property
    def entity(self) -> str:
        return self.workflow_id or self.executions[0].execution_id


class AuditEntry(EventSchema):
    """Who did what. Keyed by team (else the actor, else the object) so a team's trail stays in order.
    Fields besides these (an emitter's own) are allowed and kept in the entry's details."""

    model_config = ConfigDict(extra="allow", frozen=True)

    topic: ClassVar[str] = "audit.log"
    event_type: ClassVar[str] = "audit.entry"
    key_field: ClassVar[str] = "trail"
    key_doc: ClassVar[str] = "team_id, else actor_id, else object_id"
    untyped: ClassVar[bool] = True

    action: Annotated[str, Field(min_length=1, max_length=100)]
    actor_id: Id | None = None
    actor_type: Literal["user", "api_key", "system"] | None = None
    team_id: Id | None = None
    object_type: Annotated[str, Field(max_length=50)] | None = None
    object_id: Annotated[str, Field(max_length=100)] | None = None
    details: Detail = Field(default_factory=dict)
    ip: Annotated[str, Field(max_length=64)] | None = None

    @property
    def trail(self) -> str:
        return self.team_id or self.actor_id or self.object_id or ""


class DeadLetter(EventSchema):
    """An event a consumer could not handle: the event as it came, why, and who gave up on it."""

    topic: ClassVar[str] = "dlq.events"
    event_type: ClassVar[str] = "dead_letter"
    key_field: ClassVar[str] = "original_key"
    key_doc: ClassVar[str] = "the dead event's key"
    untyped: ClassVar[bool] = True

    event: dict[str, Any]  # {topic, key, payload}
    error: Annotated[str, Field(max_length=4000)]
    service: Name
    attempts: Annotated[int, Field(ge=0)]

    @property
    def original_key(self) -> str:
        return str(self.event.get("key") or "")
