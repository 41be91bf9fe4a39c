"""Running one node once: retries, timeout, output checks and the node's on_error policy."""

from __future__ import annotations

import asyncio
import logging
import random

from pydantic import ValidationError

from backend.engine.context import RunEnvironment, StepContext
from backend.engine.expressions import ExpressionError
from backend.engine.items import ItemCollector, ItemStream, as_list, spilled_list
from backend.engine.plan import PlannedNode
from backend.engine.retry import retry_delay_s
from backend.engine.store import StepRecord
from backend.engine.validate import ERROR_PORT
from backend.json_limits import MAX_ITEM_DEPTH, NotJson, encode_items
from nodes.sdk import NodeError, NodeTransientError, WaitRequested

log = logging.getLogger("linkflow.engine")

_NOT_RETRYABLE = (ExpressionError, ValidationError)


class NodeOutputError(NodeError):
    """``execute`` returned something that is not items of plain JSON per output port."""

    retryable = False


async def execute_step(env: RunEnvironment, node: PlannedNode, run_index: int, inputs: dict) -> StepRecord:
    """Run ``node`` on ``inputs`` under its settings; failures come back as a step, not raised."""
    step = StepRecord(node.id, node.name, run_index, "succeeded", input=inputs,
                      started_at=env.services.clock())
    items, received = inputs.get(node.first_input, []), inputs
    streamed = isinstance(items, ItemStream)
    if streamed and node.cls.batchable:
        run = _run_batches
    elif getattr(node.cls, "produce", None) is not None:
        run = _run_producer
    else:
        run = _run_whole
        if not node.cls.accepts_streams and any(isinstance(port, ItemStream) for port in inputs.values()):
            inputs = {port: as_list(port_items) for port, port_items in inputs.items()}  # the node wants lists
            items = inputs.get(node.first_input, [])
    retry = node.settings.retry
    while True:
        step.attempts += 1
        try:
            step.output, step.encoded_output = await run(env, node, inputs, items)
            if inputs is not received:
                step.output = _restreamed(step.output, inputs, received)
            break
        except WaitRequested as wait:
            step.status = "waiting"
            step.wait = {"resume_at": wait.resume_at, "on_webhook": wait.on_webhook}
            break
        except Exception as exc:  # noqa: BLE001 - every failure of a node is reported, none escapes
            error = describe_failure(node, exc)
            if not error["retryable"] or step.attempts >= retry.max_tries:
                _apply_on_error(node, step, as_list(items), error)
                break
            rng = random.Random(f"{env.execution.id}:{node.id}:{run_index}:{step.attempts}")
            await env.services.sleep(retry_delay_s(retry, step.attempts, rng))
    step.finished_at = env.services.clock()
    return step


def _restreamed(output: dict, lists: dict, received: dict) -> dict:
    """Output ports that pass on an input the node got as a list, as the stream that input came as."""
    streams = {id(lists[port]): items for port, items in received.items() if isinstance(items, ItemStream)}
    return {port: streams.get(id(items), items) for port, items in output.items()}


async def _run_whole(env: RunEnvironment, node: PlannedNode, inputs: dict, items) -> tuple[dict, dict]:
    """``execute`` once with every item; an output port past the spill threshold is spilled."""
    output, texts = _checked_output(node, await _call(node, StepContext(env, node, inputs, items), items), inputs)
    services = env.services
    for port, port_items in output.items():
        if port in texts and isinstance(port_items, list):
            spilled = spilled_list(port_items, services.spill, services.spill_threshold_bytes, texts[port])
            if spilled is not port_items:
                output[port] = spilled
                del texts[port]
    return output, texts


async def _run_batches(env: RunEnvironment, node: PlannedNode, inputs: dict, stream: ItemStream
                       ) -> tuple[dict, dict]:
    """A batchable node on a streamed input: ``execute`` once per batch, each port's output collected."""

    async def batches(instance, context_of):
        base = 0
        for batch in stream.batches():
            try:
                yield await instance.execute(context_of(batch, base), batch)
            except NodeError as exc:
                if exc.item_index is not None:
                    exc.message = f"{exc.message} (item {base + exc.item_index} of the whole input)"
                    exc.item_index += base
                raise
            base += len(batch)

    def context_of(batch: list[dict], base: int) -> StepContext:
        return StepContext(env, node, {**inputs, node.first_input: batch}, batch, base)

    return await _collected(env, node, batches(node.cls(), context_of))


async def _run_producer(env: RunEnvironment, node: PlannedNode, inputs: dict, items) -> tuple[dict, dict]:
    """A node that hands its output over in batches (``produce``): collected, spilled past the threshold."""
    items = as_list(items) if not node.cls.accepts_streams else items
    return await _collected(env, node, node.cls().produce(StepContext(env, node, inputs, items), items))


async def _collected(env: RunEnvironment, node: PlannedNode, produced) -> tuple[dict, dict]:
    """Each batch checked and added to its port's collector, under the node's timeout for the whole step."""
    collectors: dict[str, ItemCollector] = {}
    timeout = node.settings.timeout_s
    deadline = asyncio.timeout(timeout)
    try:
        async with deadline:
            async for batch in produced:
                output, texts = _checked_output(node, batch, {}, always=False)
                _collect(env, collectors, output, texts)
        return _finished(node, collectors), {}
    except BaseException as exc:
        for collector in collectors.values():
            collector.abort()
        if isinstance(exc, TimeoutError) and timeout is not None and deadline.expired():
            raise NodeTransientError(f"timed out after {timeout:g} s (settings.timeout_s)") from None
        raise


def _collect(env: RunEnvironment, collectors: dict, output: dict, texts: dict) -> None:
    for port, port_items in output.items():
        collector = collectors.get(port)
        if collector is None:
            collector = collectors[port] = ItemCollector(env.services.spill, env.services.spill_threshold_bytes)
        collector.add(port_items, texts.get(port))


def _finished(node: PlannedNode, collectors: dict) -> dict:
    output = {port: collector.finish() for port, collector in collectors.items()}
    if node.settings.always_output and not any(output.values()):
        output = {node.first_output: [{"json": {}}]}
    return output


async def _call(node: PlannedNode, context: StepContext, items: list[dict]):
    instance = node.cls()
    timeout = node.settings.timeout_s
    if timeout is None:
        return await instance.execute(context, items)
    deadline = asyncio.timeout(timeout)
    try:
        async with deadline:
            return await instance.execute(context, items)
    except TimeoutError:
        if deadline.expired():  # ours, not a TimeoutError the node let through
            raise NodeTransientError(f"timed out after {timeout:g} s (settings.timeout_s)") from None
        raise


def describe_failure(node: PlannedNode, exc: BaseException) -> dict:
    """The step's error: {message, type, item_index, retryable}."""
    if isinstance(exc, NodeError):
        message, item_index, retryable = exc.message, exc.item_index, exc.retryable
    elif isinstance(exc, _NOT_RETRYABLE):
        message, item_index, retryable = f"{exc}", None, False
    elif isinstance(exc, RecursionError):  # e.g. parsing a deeply nested answer: the same every time
        message, item_index, retryable = _TOO_DEEP, None, False
    else:
        log.warning("node %r raised an unexpected error", node.name, exc_info=exc)
        message, item_index, retryable = f"{type(exc).__name__}: {exc}", None, True
    return {"message": storable_text(message or type(exc).__name__), "type": type(exc).__name__,
            "item_index": item_index, "retryable": retryable}


_TOO_DEEP = ("a value is nested too deeply to process (it went past Python's recursion limit); "
             f"JSON data may nest at most {MAX_ITEM_DEPTH} levels")


def storable_text(text: str) -> str:
    """``text`` with NUL characters and lone surrogates escaped: an error message quoting the
    data that caused it must not be refused by the database in its turn."""
    if "\x00" in text or not text.isascii():
        text = text.replace("\x00", "\\u0000").encode("utf-8", "backslashreplace").decode("utf-8")
    return text


def _apply_on_error(node: PlannedNode, step: StepRecord, items: list[dict], error: dict) -> None:
    step.error = error
    policy = node.settings.on_error
    if policy == "stop":
        step.status, step.output = "failed", {}
        return
    # The node "succeeds" with its input items marked, so the branch after it can handle the error.
    marked_with = error["message"] if policy == "continue" else {
        k: v for k, v in error.items() if k != "retryable"}
    port = node.first_output if policy == "continue" else ERROR_PORT
    step.output = {port: [{**item, "json": {**item.get("json", {}), "error": marked_with}}
                          for item in (items or [{"json": {}}])]}


def _checked_output(node: PlannedNode, returned, inputs: dict, *, always: bool = True
                    ) -> tuple[dict[str, list[dict]], dict[str, str]]:
    """The output per port, and the JSON text of each port whose items the check encoded."""
    if isinstance(returned, list):
        output = {node.first_output: returned}
    elif isinstance(returned, dict):
        output = returned
        unknown = [port for port in output if port not in node.output_ports]
        if unknown:
            raise NodeOutputError(f"execute returned items for unknown output(s) {unknown}; "
                                  f"this node's outputs are {list(node.output_ports)}")
    else:
        raise NodeOutputError(f"execute returned {type(returned).__name__}; return a list of items "
                              "or a dict of lists per output port")
    for port, items in output.items():
        if not isinstance(items, list) or not all(isinstance(i, dict) and isinstance(i.get("json"), dict)
                                                  for i in items):
            raise NodeOutputError(f"output {port!r} must be a list of items like {{'json': {{...}}}}")
    if always and node.settings.always_output and not any(output.values()):
        output = {node.first_output: [{"json": {}}]}
    received = {id(items) for items in inputs.values()}
    texts = {}
    for port, items in output.items():
        if id(items) in received:  # passed on as it arrived: checked where it was made (nodes must not change items)
            continue
        try:
            texts[port] = encode_items(items)
        except NotJson as exc:
            where = f" (output {port!r})" if len(node.output_ports) > 1 else ""
            raise NodeOutputError(f"{exc}{where}") from None
    return output, texts
