"""Test-local node types, workflow builders and fakes for the engine tests.

The node classes here live only in the registry the tests build; they are never
registered under the ``linkflow.nodes`` entry points.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from backend.engine import EngineServices, ExecutionInfo, InMemoryStepStore, run
from nodes.sdk import (
    Node,
    NodeParameters,
    NodeRegistry,
    NodeTransientError,
    NodeUserError,
    ResponseSpec,
    TriggerSpec,
    WaitRequested,
)

CALLS: Counter[str] = Counter()  # node name -> times execute ran
EMITTED: dict[str, Any] = {}  # node name -> the Python value an Emit or Mutate node puts under json.value
SEEN: dict[str, list] = {}  # node name -> what execute received, per run
START = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)


class _Counted(Node):
    abstract = True
    side_effects = False

    async def execute(self, ctx, items):
        CALLS[ctx.node_name] += 1
        SEEN.setdefault(ctx.node_name, []).append({"items": items, "inputs": ctx.inputs})
        return await self.work(ctx, items)


class Start(_Counted):
    type = "start"
    display_name = "Start"
    group = "trigger"
    inputs = ()
    trigger = TriggerSpec(kind="manual")

    async def work(self, ctx, items):
        return items


class Pass(_Counted):
    type = "pass"
    display_name = "Pass"

    async def work(self, ctx, items):
        return items


class Empty(_Counted):
    type = "empty"
    display_name = "Empty"

    async def work(self, ctx, items):
        return []


class Tag(_Counted):
    """Adds json[key] = value to every item; value may be an expression."""

    type = "tag"
    display_name = "Tag"

    class Parameters(NodeParameters):
        key: str
        value: Any = None

    async def work(self, ctx, items):
        out = []
        for index, item in enumerate(items):
            params = ctx.params(index)
            out.append({"json": {**item["json"], params.key: params.value}})
        return out


class Number(_Counted):
    """Needs an integer parameter: checks typed parameters after expressions."""

    type = "number"
    display_name = "Number"

    class Parameters(NodeParameters):
        amount: int

    async def work(self, ctx, items):
        return [{"json": {**item["json"], "amount": ctx.params(i).amount}} for i, item in enumerate(items)]


class Branch(_Counted):
    """IF-like: items whose json[field] is truthy go to "true", the rest to "false"."""

    type = "branch"
    display_name = "Branch"
    outputs = ("true", "false")

    class Parameters(NodeParameters):
        field: str = "ok"

    async def work(self, ctx, items):
        field = ctx.params(0).field
        return {"true": [i for i in items if i["json"].get(field)],
                "false": [i for i in items if not i["json"].get(field)]}


class Join(_Counted):
    """Merge-like: input1's items, then input2's."""

    type = "join"
    display_name = "Join"
    inputs = ("input1", "input2")

    async def work(self, ctx, items):
        return [*ctx.inputs["input1"], *ctx.inputs["input2"]]


class Loop(_Counted):
    """The engine owns loop semantics; it must never call this."""

    type = "loop"
    display_name = "Loop"
    outputs = ("loop", "done")

    class Parameters(NodeParameters):
        batch_size: int = 1

    async def work(self, ctx, items):
        raise AssertionError("the engine runs loop nodes itself")


class Flaky(_Counted):
    """Fails the first `failures` calls with an error of `kind`, then passes items through."""

    type = "flaky"
    display_name = "Flaky"

    class Parameters(NodeParameters):
        failures: int = 1
        kind: Literal["transient", "user", "unexpected"] = "transient"

    async def work(self, ctx, items):
        params = ctx.params(0)
        if CALLS[ctx.node_name] <= params.failures:
            if params.kind == "user":
                raise NodeUserError("the input is wrong", item_index=1)
            if params.kind == "unexpected":
                raise ZeroDivisionError("division by zero")
            raise NodeTransientError("service unavailable (503)")
        return items


class Sleepy(_Counted):
    type = "sleepy"
    display_name = "Sleepy"

    class Parameters(NodeParameters):
        seconds: float = 1.0

    async def work(self, ctx, items):
        await asyncio.sleep(ctx.params(0).seconds)
        return items


class Pause(_Counted):
    """Wait-like: parks the execution for `minutes` (or until a webhook call)."""

    type = "pause"
    display_name = "Pause"
    side_effects = True

    class Parameters(NodeParameters):
        minutes: int | None = 5

    async def work(self, ctx, items):
        minutes = ctx.params(0).minutes
        resume_at = None if minutes is None else ctx.now() + timedelta(minutes=minutes)
        raise WaitRequested(resume_at, on_webhook=minutes is None)


class Services(_Counted):
    """Exercises the context: credentials, sub-workflow, binary, respond, now."""

    type = "services"
    display_name = "Services"
    side_effects = True
    credential_slots = {"api": ("api_key",)}

    async def work(self, ctx, items):
        secret = await ctx.credentials("api")
        child = await ctx.run_workflow("child", items)
        ref = await ctx.put_binary(b"hello", mime_type="text/plain", file_name="a.txt")
        ctx.respond(ResponseSpec(status=201, body={"ok": True}))
        return [{"json": {"secret": secret, "child": child, "data": (await ctx.get_binary(ref)).decode(),
                          "now": ctx.now().isoformat(), "settings": ctx.settings}}]


class Emit(_Counted):
    """Outputs one item per input with json.value = EMITTED[its name], whatever Python value that is."""

    type = "emit"
    display_name = "Emit"
    outputs = ("main", "other")

    async def work(self, ctx, items):
        return {"main": [{"json": {"n": index, "value": EMITTED[ctx.node_name]}} for index, _ in enumerate(items)]}


class Mutate(_Counted):
    """Breaks the rule that nodes never change their input: sets json.value in place, returns the list."""

    type = "mutate"
    display_name = "Mutate"

    async def work(self, ctx, items):
        for item in items:
            item["json"]["value"] = EMITTED[ctx.node_name]
        return items


NODE_CLASSES = [Start, Pass, Empty, Tag, Number, Branch, Join, Loop, Flaky, Sleepy, Pause, Services, Emit, Mutate]


def make_registry() -> NodeRegistry:
    return NodeRegistry(NODE_CLASSES)


# -- builders ------------------------------------------------------------------------------------

def node(name: str, type: str = "pass", *, x: float = 0, y: float = 0, settings: dict | None = None,
         disabled: bool = False, **parameters) -> dict:
    return {"id": name.lower(), "name": name, "type": type, "version": 1, "position": [x, y],
            "parameters": parameters, "settings": settings or {}, "disabled": disabled}


def edge(spec: str) -> dict:
    """'A -> B', 'A:true -> B:input1' (names; ids are lower-cased names)."""
    source, target = (part.strip() for part in spec.split("->"))
    source_name, _, output = source.partition(":")
    target_name, _, input_port = target.partition(":")
    return {"from": source_name.lower(), "output": output or "main",
            "to": target_name.lower(), "input": input_port or "main"}


def workflow(*nodes: dict, edges: tuple[str, ...] | list[str] = (), **settings) -> dict:
    return {"name": "test", "nodes": list(nodes), "connections": [edge(e) for e in edges], "settings": settings}


def chain(*names: str) -> list[str]:
    return [f"{a} -> {b}" for a, b in zip(names, names[1:], strict=False)]


def items(*values: dict) -> list[dict]:
    return [{"json": value} for value in values]


def jsons(result_items: list[dict]) -> list[dict]:
    return [item["json"] for item in result_items]


# -- fakes ---------------------------------------------------------------------------------------

class FakeClock:
    def __init__(self, now: datetime = START) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


class FakeSleep:
    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


class Harness:
    """Runs workflows against the test registry with fakes; one per test."""

    def __init__(self) -> None:
        self.clock, self.sleep = FakeClock(), FakeSleep()
        self.error_workflows: list[tuple[str, dict]] = []
        self.services = EngineServices(registry=make_registry(), clock=self.clock, sleep=self.sleep,
                                       run_error_workflow=self._error_hook)

    async def _error_hook(self, workflow_id: str, payload: dict) -> None:
        self.error_workflows.append((workflow_id, payload))

    async def run(self, definition: dict, input_items: list[dict] | None = None, *, store=None,
                  execution_id: str = "exec-1", mode: str = "manual", **options):
        return await run(
            definition, execution=ExecutionInfo(id=execution_id, mode=mode, workflow_id="wf-1"),
            input_items=input_items or [], store=store if store is not None else InMemoryStepStore(),
            services=self.services, **options)
