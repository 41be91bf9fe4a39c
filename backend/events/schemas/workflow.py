"""workflow.events and workflow.triggers: keyed by workflow id."""

from __future__ import annotations

from typing import ClassVar, Literal

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


class TriggerFired(EventSchema):
    """A trigger started an execution: a webhook call, a schedule, a manual run or a test URL."""

    topic: ClassVar[str] = "workflow.triggers"
    event_type: ClassVar[str] = "trigger.fired"
    key_field: ClassVar[str] = "workflow_id"

    type: Literal["trigger.fired"]
    workflow_id: Id
    team_id: Id
    execution_id: Id
    kind: Literal["webhook", "schedule", "manual", "test"]
    node_id: Name | None = None
