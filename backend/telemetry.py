"""What the engine reports about each run and each node: metrics always, spans when tracing is on.

The runner calls these two wrappers and nothing else (backend/engine/runner.py); with tracing off each
costs a clock read or two and a few counter updates (backend/metrics.py).
"""

from __future__ import annotations

import time
from collections.abc import Awaitable
from typing import TYPE_CHECKING

from backend import metrics, tracing

if TYPE_CHECKING:
    from backend.engine.plan import PlannedNode
    from backend.engine.runner import RunResult
    from backend.engine.services import ExecutionInfo
    from backend.engine.store import StepRecord


async def observed_run(execution: ExecutionInfo, run: Awaitable[RunResult]) -> RunResult:
    """One engine run (a start, or a resume after a wait) of ``execution``."""
    started = time.perf_counter()
    metrics.EXECUTIONS_IN_PROGRESS.inc()
    try:
        tracer = tracing.tracer()
        if tracer is None:
            result = await run
        else:
            with tracer.start_as_current_span("execution", attributes={
                    "linkflow.execution_id": execution.id, "linkflow.workflow_id": execution.workflow_id or "",
                    "linkflow.workflow_name": execution.workflow_name, "linkflow.mode": execution.mode}) as span:
                result = await run
                span.set_attribute("linkflow.execution.status", result.status)
                if result.status == "failed":
                    tracing.fail(span, (result.error or {}).get("message", "failed"))
    finally:
        metrics.EXECUTIONS_IN_PROGRESS.dec()
    metrics.run_finished(execution.mode, result.status, time.perf_counter() - started)
    return result


async def observed_step(node: PlannedNode, step: Awaitable[StepRecord]) -> StepRecord:
    """One run of one node (its retries included)."""
    tracer = tracing.tracer()
    if tracer is None:
        record = await step
    else:
        with tracer.start_as_current_span(f"node {node.name}", attributes={
                "linkflow.node.id": node.id, "linkflow.node.type": node.definition.type}) as span:
            record = await step
            span.set_attributes({"linkflow.step.status": record.status, "linkflow.step.attempts": record.attempts})
            if record.error is not None:
                tracing.fail(span, record.error.get("message", ""))
    metrics.step_finished(node.definition.type, record.status, record.started_at, record.finished_at)
    return record
