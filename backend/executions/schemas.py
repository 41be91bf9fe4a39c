"""The HTTP shapes of executions and their steps."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, StringConstraints


class ExecutionSummary(BaseModel):
    id: str
    workflow_id: str | None
    workflow_name: str | None = None  # None when the workflow was deleted or there never was one
    status: str
    mode: str
    retry_of_id: str | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    duration_ms: int | None
    error: str | None  # "node 'Fetch': HTTP 500 ..." — the full error is in the detail


class ExecutionPage(BaseModel):
    items: list[ExecutionSummary]
    total: int
    limit: int
    offset: int


class StepOut(BaseModel):
    node_id: str
    node_name: str
    run_index: int
    status: str
    attempts: int
    input: dict[str, Any] | None  # items per input port; None when offloaded data is gone
    output: dict[str, Any] | None  # items per output port
    error: dict[str, Any] | None
    started_at: datetime | None
    finished_at: datetime | None
    duration_ms: int | None


class ExecutionOut(ExecutionSummary):
    version_id: str | None
    parent_execution_id: str | None
    definition: dict[str, Any] | None
    input: list[Any] | None
    output: list[Any] | None
    error_detail: dict[str, Any] | None
    resume_at: datetime | None
    attempts: int
    steps: list[StepOut]


class ExecutionAccepted(BaseModel):
    execution_id: str
    status: str


class HourStats(BaseModel):
    hour: datetime  # the start of the UTC hour
    counts: dict[str, int]  # every status, zero included
    total: int
    p50_ms: int | None  # of the executions of this hour that succeeded or failed
    p95_ms: int | None


class DurationStats(BaseModel):
    p50_ms: int | None
    p95_ms: int | None
    count: int  # succeeded and failed executions the percentiles are taken over


class FailingWorkflow(BaseModel):
    workflow_id: str | None
    name: str
    count: int


class FailingNode(BaseModel):
    workflow_id: str | None
    workflow_name: str
    node_name: str
    count: int  # failed executions in which this node failed


class ExecutionStats(BaseModel):
    since: datetime
    until: datetime
    hours: list[HourStats]
    totals: dict[str, int]
    duration: DurationStats
    top_failing_workflows: list[FailingWorkflow]
    top_failing_nodes: list[FailingNode]


MAX_BULK = 500


class BulkRequest(BaseModel):
    ids: list[Annotated[str, StringConstraints(min_length=1, max_length=64)]] = Field(
        min_length=1, max_length=MAX_BULK, description=f"1 to {MAX_BULK} execution ids")


class BulkRetryRequest(BulkRequest):
    from_failed_step: bool = False


class BulkOutcome(BaseModel):
    id: str
    outcome: Literal["deleted", "retried", "skipped", "not_found"]
    reason: str | None = None  # why it was skipped
    execution_id: str | None = None  # the new execution of a retry


class BulkResult(BaseModel):
    results: list[BulkOutcome]
    counts: dict[str, int]  # outcome -> how many
