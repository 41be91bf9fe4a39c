"""Running a workflow: nodes in a fixed order, each step committed before its successors start.

Semantics (the docs and the tests hold the details):

* Order: the run order of ``graph.py`` (topological; ties by position x, y, then name).
  Nodes run one at a time, so a node always starts after every node that can reach it.
* Start: the trigger node, or every node without incoming connections when there is no
  trigger, or ``start_node``, receives the input items ([{"json": {}}] when none are given).
* A node that receives no items on any input is *skipped* (successors see nothing from it),
  unless ``settings.always_output``: then it runs with [] and, should it return nothing on
  every port, sends one empty item on its first output.
* A disabled node is recorded with status "disabled" and passes the items of its first
  input to its first output (a disabled loop passes them to "done").
* Items on one input port from several connections are concatenated in the order of the
  source nodes' positions. The engine never copies items: nodes must not mutate them.
* Durability: before running a node the runner looks for a committed step with the same
  (node_id, run_index); a reusable one (succeeded/skipped/disabled) is replayed, never run
  again. A committed "waiting" step is completed on resume with its input items as output
  (its node is not called again); non-empty ``resume_data`` is added to each item's json
  under the key ``"resume"`` (what the built-in Wait node documents).
* Loops: see ``_run_loop``. The loop node's own ``execute`` is never called; each batch
  and the final "done" are steps of the loop node (run_index 0, 1, ...). A loop whose
  batch_size is invalid fails the run whatever its ``on_error``.
* Tools (``tools.py``): a node on an AI Agent's ``tools`` output is never run in this order; the agent
  runs it through ``_run_tool`` (the same ``execute_step``), each call committed as its next step. A call
  whose committed step has the same input is replayed; a tool's failure goes back to the agent, not up.
* Side effects: before a node whose type declares ``side_effects`` runs, the store is told
  (``before_effects``), so an execution kept in memory is recorded durably first.
* Pins (manual and test runs only, see ``pins.py``): a pinned node is not called; its step
  sends the pinned items on its first output. It does so when items reach it, when it is a
  start node, or when none of its parents is part of this run (see "destination" below).
* Destination (``destination_node``, the editor's "Run this node"): only the node and what
  it depends on runs: its ancestors, not walking past pinned nodes (their pins stand in for
  everything before them). A loop counts as a whole: a node in its body needs the loop and
  the loop needs its whole body.
* Result: ``nodes`` has the latest step of every node that was reached (nodes never
  reached, e.g. after a failure or a wait, are absent); ``output`` is the first non-empty
  port of the last step, in run order, that sent any items.
"""

from __future__ import annotations

import asyncio
import logging
import math
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from backend.engine.context import RunEnvironment, StepContext
from backend.engine.definition import WorkflowDefinition
from backend.engine.graph import DONE_PORT, LOOP_PORT
from backend.engine.items import as_list
from backend.engine.pins import active_pins
from backend.engine.plan import InvalidWorkflow, Plan, PlannedNode, compile_plan
from backend.engine.services import EngineServices, ExecutionInfo
from backend.engine.step import describe_failure, execute_step
from backend.engine.store import REUSABLE_STATUSES, InMemoryStepStore, StepNotStored, StepRecord, StepStore
from backend.engine.validate import Problem
from backend.telemetry import observed_run, observed_step
from nodes.sdk import NodeError, NodeUserError, ResponseSpec

log = logging.getLogger("linkflow.engine")

RunStatus = Literal["succeeded", "failed", "waiting"]


@dataclass
class RunResult:
    status: RunStatus
    nodes: dict[str, dict] = field(default_factory=dict)  # name -> {status, items, outputs, error, runs}
    output: list[dict] = field(default_factory=list)  # the items of the last node that produced any
    error: dict | None = None  # {"node", "message", "item_index"}
    resume_at: datetime | None = None  # waiting: when to resume (None: only by webhook)
    wait_on_webhook: bool = False
    response: ResponseSpec | None = None  # set by a node through ctx.respond
    steps: int = 0  # steps committed by this call
    replayed_steps: int = 0  # committed steps reused instead of running their nodes again
    last_steps: list[StepRecord] = field(default_factory=list, repr=False)  # each node's last run (for events)


class _Suspended(Exception):  # noqa: N818 - control flow: a node asked to wait
    def __init__(self, step: StepRecord) -> None:
        self.step = step


class _Failed(Exception):  # noqa: N818 - control flow: the execution stops with this error
    def __init__(self, error: dict) -> None:
        self.error = error


async def run(
    definition: dict | WorkflowDefinition,
    *,
    execution: ExecutionInfo,
    input_items: list[dict],
    store: StepStore,
    services: EngineServices,
    resume_data: dict | None = None,
    start_node: str | None = None,
    destination_node: str | None = None,
) -> RunResult:
    """Run (or resume) one execution of ``definition``; never raises for a node's failure."""
    try:
        plan = compile_plan(definition, services.registry)
        start_ids = _start_ids(plan, start_node)
        pins = active_pins(plan.definition.pin_data, plan.by_name, execution.mode, start_ids)
        needed = _needed(plan, destination_node, pins)
    except InvalidWorkflow as exc:
        error = {"node": None, "message": str(exc), "item_index": None,
                 "problems": [{"node": p.node, "message": p.message} for p in exc.problems]}
        await report_failure(exc.definition, execution, services, error)
        return RunResult("failed", error=error)
    runner = _Runner(plan, execution, services, store, resume_data, start_ids, input_items)
    runner.pins, runner.needed = pins, needed
    return await observed_run(execution, runner.run())


def run_sync(definition: dict | WorkflowDefinition, *, input_items: list[dict] | None = None,
             execution: ExecutionInfo | None = None, store: StepStore | None = None,
             services: EngineServices | None = None, **options) -> RunResult:
    """``run`` for scripts and the REPL: ``run_sync(json.load(open("wf.json"))).output``."""
    return asyncio.run(run(
        definition, execution=execution or ExecutionInfo(id=uuid.uuid4().hex), input_items=input_items or [],
        store=store or InMemoryStepStore(), services=services or EngineServices(), **options))


def _start_ids(plan: Plan, start_node: str | None) -> frozenset[str]:
    if start_node is None:
        return plan.start_ids
    node = plan.by_name.get(start_node)
    if node is None:
        raise InvalidWorkflow([Problem(None, f"start node {start_node!r} does not exist")], plan.definition)
    if node.id in plan.in_loop_body:
        raise InvalidWorkflow([Problem(start_node, "a run cannot start inside a loop body")], plan.definition)
    return frozenset({node.id})


def _needed(plan: Plan, destination: str | None, pins: dict[str, list[dict]]) -> frozenset[str] | None:
    """The node ids a run up to ``destination`` needs (None: no destination, everything runs)."""
    if destination is None:
        return None
    node = plan.by_name.get(destination)
    if node is None:
        raise InvalidWorkflow([Problem(None, f"destination node {destination!r} does not exist")], plan.definition)
    loop_of = {unit: loop_id for loop_id, body in plan.bodies.items() for unit in body}
    needed: set[str] = set()
    pending = [node.id]
    while pending:
        current = pending.pop()
        if current in needed:
            continue
        needed.add(current)
        planned = plan.nodes[current]
        if current in loop_of:
            pending.append(loop_of[current])
        if planned.is_loop:
            pending += plan.bodies[current]
        pending += plan.tools.get(current, ())
        if current not in pins:
            pending += [edge.source for edge in planned.incoming]
    return frozenset(needed)


async def report_failure(definition: WorkflowDefinition, execution: ExecutionInfo,
                         services: EngineServices, error: dict) -> None:
    """Hand a failed execution to the workflow's error workflow, through the service hook."""
    error_workflow_id = definition.settings.error_workflow_id
    hook = services.run_error_workflow
    if not error_workflow_id or hook is None or execution.mode == "error":
        return  # an error workflow that fails does not start another one
    payload = {
        "execution_id": execution.id,
        "workflow": {"id": execution.workflow_id, "name": execution.workflow_name or definition.name},
        "error": {"node": error["node"], "message": error["message"]},
        "mode": execution.mode,
    }
    try:
        await hook(error_workflow_id, payload)
    except Exception:  # the failed execution stays failed; a broken hook must not hide it
        log.exception("starting error workflow %s for execution %s failed", error_workflow_id, execution.id)


class _Runner:
    """One call of ``run``: walks the plan, replaying committed steps and running the rest."""

    def __init__(self, plan: Plan, execution: ExecutionInfo, services: EngineServices, store: StepStore,
                 resume_data: dict | None, start_ids: frozenset[str], input_items: list[dict]) -> None:
        self.plan, self.services, self.store, self.resume_data = plan, services, store, resume_data
        self.env = RunEnvironment(plan, execution, services)
        self.env.tool_runner = self._run_tool
        self.start_ids, self.start_items = start_ids, input_items or [{"json": {}}]
        self.committed: dict[tuple[str, int], StepRecord] = {}
        self.outputs: dict[str, dict[str, list[dict]]] = {}  # node id -> latest output per port
        self.run_counts: dict[str, int] = {}
        self.last_steps: dict[str, StepRecord] = {}
        self.last_output: list[dict] = []
        self.executed = self.replayed = 0
        self.current: tuple[PlannedNode, int, dict] | None = None  # the node running right now
        self.pins: dict[str, list[dict]] = {}  # node id -> pinned items (see pins.py)
        self.needed: frozenset[str] | None = None  # a run up to a destination node: what it needs
        self.pinned_ran: set[str] = set()

    async def run(self) -> RunResult:
        self.committed = await self.store.load_steps()
        try:
            await self._run_bounded()
        except _Suspended as suspended:
            return self._result("waiting", wait=suspended.step.wait)
        except _Failed as failed:
            await report_failure(self.plan.definition, self.env.execution, self.services, failed.error)
            return self._result("failed", error=failed.error)
        return self._result("succeeded")

    async def _run_bounded(self) -> None:
        timeout = self.plan.definition.settings.timeout_s
        if timeout is None:
            return await self._run_units(self.plan.order)
        deadline = asyncio.timeout(timeout)
        try:
            async with deadline:
                await self._run_units(self.plan.order)
        except TimeoutError:
            if not deadline.expired():
                raise
            raise _Failed(await self._timed_out(timeout)) from None

    async def _run_units(self, units: list[str]) -> None:
        for unit in units:
            if self.needed is not None and unit not in self.needed or unit in self.plan.tool_ids:
                continue  # an agent's tool runs only when the agent calls it (_run_tool)
            node = self.plan.nodes[unit]
            if node.is_loop:
                await self._run_loop(node)
            else:
                await self._run_node(node)

    async def _run_node(self, node: PlannedNode) -> None:
        run_index = self._next_index(node)
        inputs = self._gather(node)
        committed = self.committed.get((node.id, run_index))
        if committed is not None and committed.status in REUSABLE_STATUSES:
            return self._record(node, committed, replayed=True)
        if committed is not None and committed.status == "waiting":
            return await self._commit(node, self._resumed(node, committed, inputs))
        if node.id in self.pins and self._pin_applies(node, inputs):
            return await self._commit(node, self._pinned(node, run_index, inputs))
        step = self._without_running(node, run_index, inputs, node.first_output)
        if step is None:
            if node.cls.side_effects:
                await self.store.before_effects()
            self.current = (node, run_index, inputs)
            step = await observed_step(node, execute_step(self.env, node, run_index, inputs))
            self.current = None
        await self._commit(node, step)

    async def _run_tool(self, agent: PlannedNode, node: PlannedNode, items: list[dict]) -> StepRecord:
        """One call of an agent's tool node: run (or replayed, pinned) and committed as its next step.

        Its failure is the agent's to handle (it tells the LLM), so it does not stop the execution here.
        """
        run_index = self._next_index(node)
        inputs: dict[str, list[dict]] = {port: [] for port in node.input_ports}
        inputs[node.first_input] = items
        committed = self.committed.get((node.id, run_index))
        if committed is not None and committed.status in REUSABLE_STATUSES and committed.input == inputs:
            self._record(node, committed, replayed=True)  # the agent ran again after a crash: same call, same answer
            return committed
        if node.id in self.pins:
            step = self._pinned(node, run_index, inputs)
        else:
            if node.cls.side_effects:
                await self.store.before_effects()
            step = await observed_step(node, execute_step(self.env, node, run_index, inputs))
        if step.status == "waiting":
            step = StepRecord(node.id, node.name, run_index, "failed", attempts=step.attempts, input=inputs,
                              started_at=step.started_at, finished_at=self.services.clock(),
                              error={"message": "a tool cannot make the execution wait", "type": "ToolWaited",
                                     "item_index": None, "retryable": False})
        try:
            await self.store.save_step(step)
        except StepNotStored as refused:
            step = await self._not_stored(step, refused)
        step.encoded_output = None
        self._record(node, step)
        log.info("agent %r called tool %r (run %d): %s", agent.name, node.name, run_index, step.status)
        return step

    async def _run_loop(self, loop: PlannedNode) -> None:
        """Emit the input in batches on "loop", run the body for each, then all returns on "done"."""
        inputs = self._gather(loop)
        items = as_list(inputs.get(loop.first_input, []))  # batches are slices of it
        run_index = self._next_index(loop)
        step = self._without_running(loop, run_index, inputs, DONE_PORT)
        if step is not None:
            return await self._reuse_or_commit(loop, step)
        size = await self._batch_size(loop, run_index, inputs, items)
        collected: list[dict] = []
        returned = items
        for position in range(0, len(items), size):
            batch = {LOOP_PORT: items[position:position + size]}
            await self._reuse_or_commit(loop, self._loop_step(loop, run_index, returned, batch))
            await self._run_units(self.plan.bodies[loop.id])
            returned = self._returned(loop)
            collected += returned
            run_index = self._next_index(loop)
        done = collected or ([{"json": {}}] if loop.settings.always_output else [])
        await self._reuse_or_commit(loop, self._loop_step(loop, run_index, returned, {DONE_PORT: done}))

    async def _batch_size(self, loop: PlannedNode, run_index: int, inputs: dict, items: list[dict]) -> int:
        try:
            size = getattr(StepContext(self.env, loop, inputs, items).params(0), "batch_size", 1)
            if not isinstance(size, int) or size < 1:
                raise NodeUserError(f"batch_size must be a whole number of at least 1, got {size!r}")
            iterations = math.ceil(len(items) / size)
            limit = self.services.max_loop_iterations
            if iterations > limit:
                raise NodeUserError(
                    f"the loop would run {iterations} times ({len(items)} items in batches of {size}), "
                    f"more than the limit of {limit}; raise batch_size")
        except NodeError as exc:
            step = self._loop_step(loop, run_index, items, {})
            step.status, step.error = "failed", describe_failure(loop, exc)
            await self._commit(loop, step)
        return size

    def _loop_step(self, loop: PlannedNode, run_index: int, received: list[dict], output: dict) -> StepRecord:
        now = self.services.clock()
        return StepRecord(loop.id, loop.name, run_index, "succeeded", attempts=1,
                          input={loop.first_input: received}, output=output, started_at=now, finished_at=now)

    def _returned(self, loop: PlannedNode) -> list[dict]:
        """Items the body sent back into the loop node during this iteration."""
        returned: list[dict] = []
        for edge in self.plan.back_edges[loop.id]:
            returned += self.outputs.get(edge.source, {}).get(edge.output, ())
        return returned

    def _next_index(self, node: PlannedNode) -> int:
        run_index = self.run_counts.get(node.id, 0)
        self.run_counts[node.id] = run_index + 1
        return run_index

    def _gather(self, node: PlannedNode) -> dict[str, list[dict]]:
        inputs: dict[str, list[dict]] = {port: [] for port in node.input_ports}
        if node.id in self.start_ids:
            inputs[node.first_input] = self.start_items
            return inputs
        for edge in node.incoming:
            produced = self.outputs.get(edge.source)
            items = produced.get(edge.output) if produced else None
            if items:
                earlier = inputs[edge.input]
                inputs[edge.input] = [*earlier, *items] if earlier else items
        return inputs

    def _pin_applies(self, node: PlannedNode, inputs: dict) -> bool:
        if any(inputs.values()) or node.id in self.start_ids:
            return True
        needed = self.needed
        return needed is not None and not any(edge.source in needed for edge in node.incoming)

    def _pinned(self, node: PlannedNode, run_index: int, inputs: dict) -> StepRecord:
        self.pinned_ran.add(node.id)
        now = self.services.clock()
        return StepRecord(node.id, node.name, run_index, "succeeded", attempts=0, input=inputs,
                          output={node.first_output: self.pins[node.id]}, started_at=now, finished_at=now)

    def _without_running(self, node: PlannedNode, run_index: int, inputs: dict, pass_to: str):
        """The step of a node that does not run: nothing arrived, or it is disabled."""
        if not node.settings.always_output and not any(inputs.values()):
            status, output = "skipped", {}
        elif node.definition.disabled:
            status, output = "disabled", {pass_to: inputs.get(node.first_input, [])}
        else:
            return None
        now = self.services.clock()
        return StepRecord(node.id, node.name, run_index, status, input=inputs, output=output,
                          started_at=now, finished_at=now)

    def _resumed(self, node: PlannedNode, waiting: StepRecord, inputs: dict) -> StepRecord:
        items = inputs.get(node.first_input, [])
        if self.resume_data:
            items = [{**item, "json": {**item.get("json", {}), "resume": self.resume_data}} for item in items]
        return StepRecord(node.id, node.name, waiting.run_index, "succeeded", attempts=waiting.attempts,
                          input=inputs, output={node.first_output: items}, started_at=waiting.started_at,
                          finished_at=self.services.clock())

    async def _reuse_or_commit(self, node: PlannedNode, step: StepRecord) -> None:
        committed = self.committed.get(step.key)
        if committed is not None and committed.status in REUSABLE_STATUSES:
            return self._record(node, committed, replayed=True)
        await self._commit(node, step)

    async def _commit(self, node: PlannedNode, step: StepRecord) -> None:
        try:
            await self.store.save_step(step)  # committed before any successor starts
        except StepNotStored as refused:
            step = await self._not_stored(step, refused)
        step.encoded_output = None  # only the store needed it; the run keeps the items themselves
        self._record(node, step)
        if step.status == "waiting":
            raise _Suspended(step)
        if step.status == "failed":
            raise _Failed({"node": node.name, "message": step.error["message"],
                           "item_index": step.error.get("item_index")})

    async def _not_stored(self, step: StepRecord, refused: StepNotStored) -> StepRecord:
        """The step as failed, without the data that could not be stored (its input too, if need be).

        Failing here ends the execution like any node failure; leaving it to the caller would leave
        it running, and a worker after the next would try to store the same step again, forever.
        """
        message = f"the step's data could not be stored: {refused}"
        failed = StepRecord(step.node_id, step.node_name, step.run_index, "failed", attempts=step.attempts,
                            input=step.input, started_at=step.started_at, finished_at=self.services.clock(),
                            error={"message": message, "type": "StepNotStored", "item_index": None,
                                   "retryable": False})
        try:
            await self.store.save_step(failed)
        except StepNotStored:
            failed.input = {}
            await self.store.save_step(failed)
        return failed

    def _record(self, node: PlannedNode, step: StepRecord, *, replayed: bool = False) -> None:
        output = step.output
        self.outputs[node.id] = output
        self.env.node_items[node.name] = output.get(DONE_PORT if node.is_loop else node.first_output, [])
        self.last_steps[node.id] = step
        if replayed:
            self.replayed += 1
        else:
            self.executed += 1
        if output and step.status != "failed":
            for port in node.all_output_ports:
                if output.get(port):
                    self.last_output = output[port]
                    break

    async def _timed_out(self, timeout: float) -> dict:
        message = f"the workflow ran longer than its timeout of {timeout:g} s (settings.timeout_s)"
        if self.current is None:
            return {"node": None, "message": message, "item_index": None}
        node, run_index, inputs = self.current
        now = self.services.clock()
        step = StepRecord(node.id, node.name, run_index, "failed", attempts=1, input=inputs, started_at=now,
                          finished_at=now, error={"message": message, "type": "WorkflowTimeout",
                                                  "item_index": None, "retryable": False})
        await self.store.save_step(step)
        self._record(node, step)
        return {"node": node.name, "message": f"{message}; node {node.name!r} was stopped", "item_index": None}

    def _result(self, status: RunStatus, *, error: dict | None = None, wait: dict | None = None) -> RunResult:
        nodes = {}
        for node in self.plan.nodes.values():
            step = self.last_steps.get(node.id)
            if step is not None:
                nodes[node.name] = {
                    "status": step.status, "items": self.env.node_items[node.name], "outputs": step.output,
                    "error": step.error, "runs": self.run_counts[node.id], "pinned": node.id in self.pinned_ran,
                }
        return RunResult(
            status=status, nodes=nodes, output=as_list(self.last_output), error=error,
            resume_at=(wait or {}).get("resume_at"), wait_on_webhook=bool((wait or {}).get("on_webhook")),
            response=self.env.response, steps=self.executed, replayed_steps=self.replayed,
            last_steps=list(self.last_steps.values()),
        )
