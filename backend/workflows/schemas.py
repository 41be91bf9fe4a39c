"""The HTTP shapes of workflows, their versions, diffs, exports and manual runs."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from backend.db.base import MAX_INT

Tag = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=50)]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
MAX_TAGS = 20


def _unique_tags(tags: list[str] | None) -> list[str] | None:
    if tags is None:
        return None
    unique = list(dict.fromkeys(tags))
    if len(unique) > MAX_TAGS:
        raise ValueError(f"a workflow has at most {MAX_TAGS} tags, got {len(unique)}")
    return unique


class WorkflowCreate(BaseModel):
    name: Name
    description: str = Field("", max_length=10_000)
    tags: list[Tag] = Field(default_factory=list)
    # {nodes, connections, settings}: checked by the engine's validator, which reports every problem.
    definition: dict[str, Any] = Field(default_factory=dict)
    message: str = Field("", max_length=500)

    _tags = field_validator("tags")(_unique_tags)


class WorkflowUpdate(BaseModel):
    name: Name | None = None
    description: str | None = Field(None, max_length=10_000)
    tags: list[Tag] | None = None
    definition: dict[str, Any] | None = None
    message: str = Field("", max_length=500, description="What changed, kept with the new version")
    base_version: int | None = Field(
        None, description="The version the editor started from; a newer latest version answers 409")

    _tags = field_validator("tags")(_unique_tags)


class WorkflowSummary(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    name: str
    description: str
    tags: list[str]
    active: bool
    latest_version: int
    created_at: datetime
    updated_at: datetime


class WorkflowPage(BaseModel):
    items: list[WorkflowSummary]
    total: int
    limit: int
    offset: int


class WorkflowOut(WorkflowSummary):
    created_by: str | None
    active_version: int | None  # the version that webhooks and schedules run
    versions: list[int]
    definition: dict[str, Any]
    warnings: list[dict[str, Any]] = []  # a draft's problems on its nodes ({node, message}); activation refuses them


class VersionSummary(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    number: int
    message: str
    created_by: str | None
    created_at: datetime


class VersionOut(VersionSummary):
    definition: dict[str, Any]


class VersionPage(BaseModel):
    items: list[VersionSummary]
    total: int
    limit: int
    offset: int


class WorkflowFile(BaseModel):
    """The export/import file: a workflow without ids, history or activation."""

    model_config = ConfigDict(extra="ignore")

    name: Name
    nodes: list[Any] = Field(default_factory=list)
    connections: list[Any] = Field(default_factory=list)
    settings: dict[str, Any] = Field(default_factory=dict)
    pin_data: dict[str, Any] = Field(default_factory=dict)
    sticky_notes: list[Any] = Field(default_factory=list)
    tags: list[Tag] = Field(default_factory=list)
    description: str = Field("", max_length=10_000)

    _tags = field_validator("tags")(_unique_tags)


class ImportProblem(BaseModel):
    node: str | None = Field(description="The node's name (None: the workflow as a whole)")
    parameter: str | None = Field(None, description="Which parameter, e.g. conditions[0].leftValue")
    expression: str | None = Field(None, description="The n8n expression that was not converted")
    reason: str
    severity: str = Field("error", description="error: the node was disabled; warning: imported, check it")


class N8nImportOut(BaseModel):
    workflow: WorkflowOut
    report: list[ImportProblem]


class RunRequest(BaseModel):
    input: dict[str, Any] | list[dict[str, Any]] = Field(
        default_factory=list, description="One object or a list of objects: the trigger's items")
    version: int | None = Field(None, ge=1, le=MAX_INT, description="Run this version; default: the newest")
    destination_node: str | None = Field(
        None, min_length=1, max_length=200,
        description="Run only up to this node (by name): it and the nodes it depends on (\"Run this node\")")


class _DraftNode(BaseModel):
    model_config = ConfigDict(extra="allow")

    id: str = Field(max_length=100)


class _DraftConnection(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True)

    from_: str = Field(alias="from", max_length=100)
    output: str = Field("main", max_length=100)
    to: str = Field(max_length=100)
    input: str = Field("main", max_length=100)


class DraftDefinition(BaseModel):
    """Only as strict as comparing needs: nodes with ids, connections between ids."""

    model_config = ConfigDict(extra="allow")

    nodes: list[_DraftNode] = Field(default_factory=list, max_length=5_000)
    connections: list[_DraftConnection] = Field(default_factory=list, max_length=20_000)
    settings: dict[str, Any] = Field(default_factory=dict)


class DraftDiffRequest(BaseModel):
    from_version: int = Field(ge=1, le=MAX_INT, description="The saved version to compare with")
    definition: DraftDefinition = Field(description="The definition being edited (need not be saved)")


class RunAccepted(BaseModel):
    execution_id: str
    status: str


class TriggerListenerOut(BaseModel):
    """A listener trigger (Redis Trigger, Kafka Trigger) of the active workflow and how it is doing."""

    model_config = ConfigDict(from_attributes=True)

    node_id: str
    node_type: str
    status: str  # starting | listening | error
    error: str | None
    detail: str
    messages: int
    last_message_at: datetime | None
    updated_at: datetime


class VendorHookOut(BaseModel):
    """A vendor webhook trigger (GitHub, Stripe, Slack, Telegram): registered at the vendor or not, and why not.
    Its secret is never part of it."""

    node_id: str
    node_type: str
    vendor: str
    status: str  # registered | not_registered
    url: str | None  # what the vendor calls, while registered (Slack: paste it into the app's Event Subscriptions)
    error: str | None  # the last registration (or deletion) error, with the vendor's message
    registered_at: datetime | None
    updated_at: datetime


class TriggerStatusOut(BaseModel):
    active: bool
    listeners: list[TriggerListenerOut]
    vendor_hooks: list[VendorHookOut] = []
