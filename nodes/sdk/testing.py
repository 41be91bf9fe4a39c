"""Run a node in a test without the engine: ``FakeContext`` and ``run_node``.

The fake checks parameters with the node's ``Parameters`` model like the engine does,
but does not evaluate ``{{ }}`` expressions: give the values the expressions would
produce (one dict for all items, a list with one dict per item, or a function of the
item index). Example::

    from nodes.sdk.testing import run_node

    async def test_greets():
        out = await run_node(Greet, [{"json": {}}], params={"name": "Ada"})
        assert out["main"] == [{"json": {"greeting": "hello Ada"}}]

``run_node`` also fails the test if the node changed its input items in place.
"""

from __future__ import annotations

import copy
import inspect
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, BinaryIO

from pydantic import BaseModel, ValidationError

from nodes.sdk.context import ResponseSpec
from nodes.sdk.errors import NodeUserError
from nodes.sdk.node import Item, Node
from nodes.sdk.sandbox import CodeRun, CodeSandbox

FIXED_NOW = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)
DEFAULT_SETTINGS = {"http_allow_private": False, "http_allow_list": []}
Params = dict | list[dict] | Callable[[int], dict] | None
Workflow = Callable[[list[Item]], Any] | list[Item]


class FakeContext:
    """A stand-in for the engine's context; it records what the node asked of it.

    ``responses`` (ctx.respond calls), ``workflow_calls`` ((workflow_id, items) per
    ctx.run_workflow), ``binaries`` (id -> bytes stored with put_binary) and ``streamed`` can be inspected.
    ``code_sandbox`` is what ``ctx.run_code`` runs in (none by default: nodes/sdk cannot
    import the platform's sandboxes; tests pass one from ``backend.sandbox``).
    """

    def __init__(
        self,
        node: type[Node],
        params: Params = None,
        *,
        inputs: dict[str, list[Item]] | None = None,
        credentials: dict[str, dict] | None = None,
        settings: dict | None = None,
        resume_data: dict | None = None,
        workflows: dict[str, Workflow] | None = None,
        now: datetime = FIXED_NOW,
        node_name: str = "Node",
        mode: str = "manual",
        code_sandbox: CodeSandbox | None = None,
        tools: dict[str, Callable[[dict], Any]] | None = None,
    ) -> None:
        self.node_class = node
        self._params = {} if params is None else params
        self.inputs = inputs if inputs is not None else {"main": []}
        self._credentials = credentials or {}
        self.settings = {**DEFAULT_SETTINGS, **(settings or {})}
        self.resume_data = resume_data
        self._workflows = workflows or {}
        self._now = now
        self.node_name = node_name
        self.execution_id = "test-execution"
        self.mode = mode
        self.workflow = {"id": "test-workflow", "name": "Test"}
        self.responses: list[ResponseSpec] = []
        self.workflow_calls: list[tuple[str, list[Item]]] = []
        self.binaries: dict[str, bytes] = {}
        self.streamed: list[str] = []  # file names of binaries handed to put_binary as files
        self._code_sandbox = code_sandbox
        self._tools = tools or {}
        self.tool_calls: list[tuple[str, dict]] = []

    def raw_parameters(self) -> dict:
        return self._raw(0)

    def params(self, item_index: int = 0) -> BaseModel:
        """The node's Parameters for one item; invalid values raise NodeUserError like in the engine."""
        try:
            return self.node_class.Parameters.model_validate(self._raw(item_index))
        except ValidationError as exc:
            problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'parameters'}: {e['msg']}" for e in exc.errors())
            raise NodeUserError(f"invalid parameters: {problems}", item_index=item_index) from None

    def _raw(self, item_index: int) -> dict:
        if callable(self._params):
            return self._params(item_index)
        if isinstance(self._params, list):
            return self._params[item_index]
        return self._params

    async def credentials(self, slot: str) -> dict:
        if slot not in self._credentials:
            raise NodeUserError(f"no credential is bound to slot {slot!r}")
        return dict(self._credentials[slot])

    async def run_workflow(self, workflow_id: str, items: list[Item]) -> list[Item]:
        self.workflow_calls.append((workflow_id, copy.deepcopy(items)))
        if workflow_id not in self._workflows:
            raise NodeUserError(f"workflow {workflow_id!r} does not exist")
        workflow = self._workflows[workflow_id]
        if not callable(workflow):
            return copy.deepcopy(workflow)
        result = workflow(copy.deepcopy(items))
        return await result if inspect.isawaitable(result) else result

    def respond(self, response: ResponseSpec) -> None:
        self.responses.append(response)

    def tools(self) -> list[dict]:
        """``tools`` given as {name: function of the arguments returning items (or raising)}."""
        return [{"name": name, "node": name, "description": (function.__doc__ or name).strip(),
                 "parameters": {"type": "object", "properties": {}}} for name, function in self._tools.items()]

    async def call_tool(self, name: str, arguments: dict) -> dict:
        self.tool_calls.append((name, copy.deepcopy(arguments)))
        if name not in self._tools:
            raise NodeUserError(f"there is no tool named {name!r}")
        run_index = sum(1 for called, _ in self.tool_calls if called == name) - 1
        try:
            result = self._tools[name](copy.deepcopy(arguments))
            items = await result if inspect.isawaitable(result) else result
        except Exception as exc:  # noqa: BLE001 - a tool's failure is returned, as the engine does
            return {"node": name, "run_index": run_index, "status": "failed", "items": [], "error": str(exc)}
        return {"node": name, "run_index": run_index, "status": "succeeded",
                "items": [item.get("json", {}) for item in items], "error": None}

    async def put_binary(self, data: bytes | BinaryIO, *, mime_type: str, file_name: str = "") -> dict:
        if not isinstance(data, bytes | bytearray | memoryview):
            self.streamed.append(file_name)  # a file was handed over, not bytes: tests can check
            data = data.read()
        ref = {"id": f"bin-{len(self.binaries) + 1}", "mime_type": mime_type, "file_name": file_name,
               "size": len(data)}
        self.binaries[ref["id"]] = bytes(data)
        return ref

    async def get_binary(self, ref: dict) -> bytes:
        try:
            return self.binaries[ref["id"]]
        except KeyError:
            raise NodeUserError(f"no binary data behind {ref!r}") from None

    def open_binary(self, ref: dict):
        try:
            data = self.binaries[ref["id"]]
        except KeyError:
            raise NodeUserError(f"no binary data behind {ref!r}") from None
        return (data[start:start + 4096] for start in range(0, len(data), 4096))  # small chunks: edges get tested

    def now(self) -> datetime:
        return self._now

    async def run_code(self, request: bytes, *, time_limit_s: int, memory_mb: int) -> CodeRun:
        if self._code_sandbox is None:
            raise NodeUserError("this FakeContext has no code sandbox; pass code_sandbox=... (the platform's "
                                "sandboxes live in backend.sandbox)")
        return await self._code_sandbox.run(request, time_limit_s=time_limit_s, memory_mb=memory_mb)


async def run_context(node: type[Node], ctx: FakeContext, items: list[Item] | None = None) -> dict[str, list[Item]]:
    """Run ``node`` with ``ctx``; returns items per output port (a plain list goes to the first port)."""
    if items is not None:
        ctx.inputs = {**ctx.inputs, node.inputs[0] if node.inputs else "main": items}
    main = ctx.inputs.get(node.inputs[0], []) if node.inputs else (items or [])
    before = copy.deepcopy(ctx.inputs)
    output = await node().execute(ctx, main)
    if ctx.inputs != before:
        raise AssertionError(f"node {node.type!r} changed its input items in place; build new dicts instead")
    if isinstance(output, dict):
        return output
    ports = node.output_ports(ctx.raw_parameters()) if node.dynamic_outputs else node.outputs
    return {ports[0] if ports else "main": output}


async def run_node(node: type[Node], items: list[Item] | None = None, **context: Any) -> dict[str, list[Item]]:
    """Run ``node`` on ``items`` with a FakeContext built from ``context`` (see FakeContext).

    >>> out = await run_node(NoOp, [{"json": {"a": 1}}])   # doctest: +SKIP
    >>> out == {"main": [{"json": {"a": 1}}]}               # doctest: +SKIP
    True
    """
    return await run_context(node, FakeContext(node, **context), items)
