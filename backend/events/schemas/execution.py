"""execution.events, execution.commands and execution.results: keyed by execution id."""

from __future__ import annotations

from typing import Annotated, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

from backend.events.schemas.base import ErrorDetail, EventSchema, Id, Name

Mode = Literal["manual", "webhook", "test", "schedule", "trigger", "retry", "subworkflow", "error"]
Status = Literal["queued", "running", "waiting", "succeeded", "failed", "cancelled"]


class _ExecutionEvent(EventSchema):
    abstract: ClassVar[bool] = True
    topic: ClassVar[str] = "execution.events"
    key_field: ClassVar[str] = "execution_id"

    execution_id: Id
    workflow_id: Id | None = None
    team_id: Id
    mode: Mode
    error: ErrorDetail = None


def _status_event(status: str) -> type[_ExecutionEvent]:
    """One schema per status change, `execution.<status>`, all with the same fields."""
    kind = f"execution.{status}"
    return type(f"Execution{status.title()}", (_ExecutionEvent,), {
        "__module__": __name__, "__doc__": f"The execution is now {status}.",
        "__annotations__": {"event_type": ClassVar[str], "type": Literal[kind], "status": Literal[status]},
        "event_type": kind})


ExecutionQueued = _status_event("queued")
ExecutionRunning = _status_event("running")
ExecutionWaiting = _status_event("waiting")
ExecutionSucceeded = _status_event("succeeded")
ExecutionFailed = _status_event("failed")
ExecutionCancelled = _status_event("cancelled")


class UnsavedRun(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    execution_id: Id
    team_id: Id
    workflow_id: Id | None = None
    mode: Mode
    status: Status


class ExecutionUnsaved(EventSchema):
    """Webhook runs whose data was not kept (`save_data`), batched: billing still counts them."""

    topic: ClassVar[str] = "execution.events"
    event_type: ClassVar[str] = "execution.unsaved"
    key_field: ClassVar[str] = "first_execution_id"
    key_doc: ClassVar[str] = "the first run's execution_id"

    type: Literal["execution.unsaved"]
    executions: Annotated[list[UnsavedRun], Field(min_length=1, max_length=1000)]

    @property
    def first_execution_id(self) -> str:
        return self.executions[0].execution_id


class ExecutionCommand(EventSchema):
    """A request for the worker holding an execution: cancel it, retry it, or resume it."""

    topic: ClassVar[str] = "execution.commands"
    event_type: ClassVar[str] = "execution.command"
    key_field: ClassVar[str] = "execution_id"

    type: Literal["execution.command"]
    command: Literal["cancel", "retry", "resume"]
    execution_id: Id
    team_id: Id
    requested_by: Id | None = None
    command_id: Id | None = None  # the worker acts on a command once (absent: its event_id)


class NodeResult(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    node_id: Name
    node_name: Name
    run_index: int = 0
    status: Literal["succeeded", "failed", "skipped", "waiting", "disabled"]
    duration_ms: float | None = None
    items_in: int = 0
    items_out: int = 0
    error: Annotated[str, Field(max_length=500)] | None = None  # the message, cut; never the items


class RunNodes(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    execution_id: Id
    mode: Mode
    status: Status
    nodes: Annotated[list[NodeResult], Field(max_length=1000)]


class NodesFinished(EventSchema):
    """Node results of runs of one workflow (until each ended or parked): each node's last run, its
    outcome, timings and item counts, never the items. Runs that finish together share one event."""

    topic: ClassVar[str] = "execution.results"
    event_type: ClassVar[str] = "nodes.finished"
    key_field: ClassVar[str] = "entity"
    key_doc: ClassVar[str] = "workflow_id, else the first run's execution_id"

    type: Literal["nodes.finished"]
    team_id: Id
    workflow_id: Id | None = None
    runs: Annotated[list[RunNodes], Field(min_length=1, max_length=1000)]

    @property
    def entity(self) -> str:
        return self.workflow_id or self.runs[0].execution_id
