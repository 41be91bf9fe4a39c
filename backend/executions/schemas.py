"""The HTTP shapes of executions and their steps."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel


class ExecutionSummary(BaseModel):
    id: str
    workflow_id: str | None
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
