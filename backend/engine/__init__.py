"""The pure workflow runtime: validate a definition, run it, resume it. No database, no HTTP.

    from backend.engine import EngineServices, ExecutionInfo, InMemoryStepStore, run

    result = await run(definition, execution=ExecutionInfo(id="e1"), input_items=[],
                       store=InMemoryStepStore(), services=EngineServices())

Persistence goes through ``StepStore``; everything else the platform provides comes in
through ``EngineServices``.
"""

from backend.engine.definition import (
    Connection,
    NodeDefinition,
    NodeSettings,
    RetrySettings,
    WorkflowDefinition,
    WorkflowSettings,
)
from backend.engine.plan import InvalidWorkflow, Plan, compile_plan
from backend.engine.runner import RunResult, run, run_sync
from backend.engine.services import BinaryStore, EngineServices, ExecutionInfo, InMemoryBinaryStore
from backend.engine.store import InMemoryStepStore, NullStepStore, StepRecord, StepStore
from backend.engine.validate import Problem, validate

__all__ = [
    "BinaryStore",
    "Connection",
    "EngineServices",
    "ExecutionInfo",
    "InMemoryBinaryStore",
    "InMemoryStepStore",
    "InvalidWorkflow",
    "NodeDefinition",
    "NodeSettings",
    "NullStepStore",
    "Plan",
    "Problem",
    "RetrySettings",
    "RunResult",
    "StepRecord",
    "StepStore",
    "WorkflowDefinition",
    "WorkflowSettings",
    "compile_plan",
    "run",
    "run_sync",
    "validate",
]
