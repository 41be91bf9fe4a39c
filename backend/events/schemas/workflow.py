"""workflow.events and workflow.triggers: keyed by workflow id."""

from __future__ import annotations

from typing import Annotated, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

from backend.events.schemas.base import EventSchema, Id, Name


class _WorkflowEvent(EventSchema):
    abstract: ClassVar[bool] = True
    topic: ClassVar[str] = "workflow.events"
    key_field: ClassVar[str] = "workflow_id"

    workflow_id: Id
    team_id: Id


class WorkflowActivated(_WorkflowEvent):
    event_type: ClassVar[str] = "workflow.activated"
    type: Literal["workflow.activated"]
    version_id: Id
    version: int  # the workflow version's number


class WorkflowDeactivated(_WorkflowEvent):
    event_type: ClassVar[str] = "workflow.deactivated"
    type: Literal["workflow.deactivated"]
    version_id: Id | None = None


class WorkflowDeleted(_WorkflowEvent):
    event_type: ClassVar[str] = "workflow.deleted"
    type: Literal["workflow.deleted"]
    version_id: Id | None = None


class Firing(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    execution_id: Id
    kind: Literal["webhook", "schedule", "listener", "manual", "test"]
    node_id: Name | None = None


class TriggerFired(EventSchema):
    """Triggers of one workflow started executions: webhook calls, a schedule, a manual run, a test URL
    (webhook firings of one moment share one event)."""

    topic: ClassVar[str] = "workflow.triggers"
    event_type: ClassVar[str] = "trigger.fired"
    key_field: ClassVar[str] = "workflow_id"

    type: Literal["trigger.fired"]
    workflow_id: Id
    team_id: Id
    firings: Annotated[list[Firing], Field(min_length=1, max_length=1000)]
