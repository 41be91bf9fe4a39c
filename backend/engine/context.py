"""The engine's implementation of ``nodes.sdk.NodeContext``: what one node run can see and do."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, BinaryIO

from pydantic import BaseModel, ValidationError

from backend.engine.expressions import ExpressionContext, ExpressionError, resolve_parameters
from backend.engine.params import describe_errors
from backend.engine.plan import Plan, PlannedNode
from backend.engine.services import EngineServices, ExecutionInfo
from nodes.sdk import CodeRun, NodeUserError, ResponseSpec


class ParameterError(NodeUserError):
    """A parameter's expression failed or its value does not fit the node: never retried."""


@dataclass(slots=True, eq=False)
class RunEnvironment:
    """What every node run of one execution shares."""

    plan: Plan
    execution: ExecutionInfo
    services: EngineServices
    node_items: dict[str, list[dict]] = field(default_factory=dict)  # $node: name -> first-port items
    response: ResponseSpec | None = None
    # Set by the runner: runs one of an agent's tool nodes as a step (see tools.py): (agent, tool, items) -> step
    tool_runner: Callable[[PlannedNode, PlannedNode, list[dict]], Awaitable[Any]] | None = None
    execution_vars: dict = field(init=False)
    workflow_vars: dict = field(init=False)

    def __post_init__(self) -> None:
        self.execution_vars = {"id": self.execution.id, "mode": self.execution.mode,
                               "resume_url": self.execution.resume_url}
        name = self.execution.workflow_name or self.plan.definition.name
        self.workflow_vars = {"id": self.execution.workflow_id, "name": name}


class StepContext:
    """Handed to ``Node.execute``; one per node run."""

    __slots__ = ("node_name", "execution_id", "mode", "workflow", "inputs", "resume_data", "settings",
                 "_env", "_node", "_items", "_params", "_base")

    def __init__(self, env: RunEnvironment, node: PlannedNode, inputs: dict, items: list[dict],
                 base: int = 0) -> None:
        self.node_name = node.name
        self.execution_id = env.execution.id
        self.mode = env.execution.mode
        self.workflow = env.workflow_vars
        self.inputs = inputs
        self.resume_data = None  # the engine completes a resumed wait itself (see runner.py)
        self.settings = env.services.settings
        self._env = env
        self._node = node
        self._items = items
        self._params: dict[int, BaseModel] = {}
        self._base = base  # a batch of a streamed input: the index of its first item in the whole input

    def params(self, item_index: int = 0) -> BaseModel:
        static = self._node.static_params
        if static is not None:
            return static
        params = self._params.get(item_index)
        if params is None:
            params = self._params[item_index] = self._resolve(item_index)
        return params

    def _resolve(self, item_index: int) -> BaseModel:
        node, items = self._node, self._items
        expression_context = ExpressionContext(
            json=items[item_index].get("json", {}) if 0 <= item_index < len(items) else {},
            item_index=self._base + item_index, input=items, nodes=self._env.node_items,
            vars=self._env.services.variables, execution=self._env.execution_vars,
            workflow=self._env.workflow_vars, now=self._env.services.clock(),
            timezone=self._env.plan.definition.settings.timezone,
        )
        try:
            resolved = resolve_parameters(node.definition.parameters, expression_context)
        except ExpressionError as exc:
            where = "" if f"item {item_index}" in str(exc) else f" (item {item_index})"
            raise ParameterError(f"node {node.name!r}: could not evaluate {exc}{where}",
                                 item_index=item_index) from None
        try:
            return node.cls.Parameters.model_validate(resolved)
        except ValidationError as exc:
            problems = "; ".join(describe_errors(exc.errors()))
            raise ParameterError(f"node {node.name!r}: {problems} (item {item_index}, after evaluating "
                                 "expressions)", item_index=item_index) from None

    def raw_parameters(self) -> dict:
        return self._node.definition.parameters

    async def credentials(self, slot: str) -> dict:
        credential_id = self._node.definition.credentials.get(slot)
        if not credential_id:
            raise NodeUserError(f"node {self.node_name!r} has no credential chosen for {slot!r}; "
                                "pick one in the node's credentials")
        return await self._env.services.credentials(credential_id, self.node_name)

    async def run_workflow(self, workflow_id: str, items: list[dict]) -> list[dict]:
        return await self._env.services.run_subworkflow(workflow_id, items, self.execution_id)

    def tools(self) -> list[dict]:
        """The nodes on this node's ``tools`` output as the LLM sees them (see backend/engine/tools.py)."""
        from backend.engine.tools import describe_tools

        return describe_tools(self._env.plan, self._node)

    async def call_tool(self, name: str, arguments: dict) -> dict:
        """Run the tool node ``name`` (a name from ``tools()``) with ``arguments`` as its one input item.

        Returns {"node", "run_index", "status": "succeeded" | "failed", "items": [json...], "error": message}.
        Unknown names raise NodeUserError; a tool node's own failure is returned, not raised.
        """
        from backend.engine.items import as_list
        from backend.engine.tools import describe_tools

        known = {tool["name"]: tool["node"] for tool in describe_tools(self._env.plan, self._node)}
        if name not in known:
            raise NodeUserError(f"there is no tool named {name!r}; the tools are: {', '.join(known) or 'none'}")
        runner = self._env.tool_runner
        if runner is None:
            raise NodeUserError("tools can only be called while the engine runs the workflow")
        tool = self._env.plan.by_name[known[name]]
        step = await runner(self._node, tool, [{"json": arguments}])
        items = as_list(step.output.get(tool.first_output, [])) if step.status == "succeeded" else []
        error = (step.error or {}).get("message") if step.status != "succeeded" else None
        return {"node": tool.name, "run_index": step.run_index, "status": step.status,
                "items": [item.get("json", {}) for item in items], "error": error}

    def respond(self, response: ResponseSpec) -> None:
        self._env.response = response

    async def put_binary(self, data: bytes | BinaryIO, *, mime_type: str, file_name: str = "") -> dict:
        return await self._env.services.binary.put(data, mime_type=mime_type, file_name=file_name)

    async def get_binary(self, ref: dict) -> bytes:
        return await self._env.services.binary.get(ref)

    def open_binary(self, ref: dict):
        """The binary data's bytes in chunks (blocking reads), for a node that streams a large file."""
        return self._env.services.binary.open(ref)

    def now(self) -> datetime:
        return self._env.services.clock().astimezone(self._env.plan.timezone)

    async def run_code(self, request: bytes, *, time_limit_s: int, memory_mb: int) -> CodeRun:
        return await self._env.services.code_sandbox.run(request, time_limit_s=time_limit_s, memory_mb=memory_mb)
