"""Run a Code node through the real engine and this process's configured code sandbox."""

from __future__ import annotations

import textwrap
import uuid

from backend.engine import EngineServices, ExecutionInfo, InMemoryStepStore, run
from backend.sandbox import code_sandbox
from nodes.builtin.code import Code
from nodes.sdk import NodeUserError
from nodes.sdk.testing import run_node


async def run_code_node(code: str, items: list[dict] | None = None, **parameters) -> dict:
    """Runs manual trigger → Code through the engine; returns the Code node's one item's json, or
    ``{"error": message}`` when the node failed."""
    definition = {
        "nodes": [{"id": "t", "name": "Start", "type": "manual_trigger", "position": [0, 0]},
                  {"id": "c", "name": "Code", "type": "code", "position": [200, 0],
                   "parameters": {"code": textwrap.dedent(code), **parameters}}],
        "connections": [{"from": "t", "to": "c"}],
    }
    result = await run(definition, execution=ExecutionInfo(id=uuid.uuid4().hex), input_items=items or [{"json": {}}],
                       store=InMemoryStepStore(), services=EngineServices())
    if result.status != "succeeded":
        return {"error": result.error["message"]}
    [item] = result.output
    return item["json"]


async def code_node_failure(code: str, **parameters) -> NodeUserError:
    """Runs the Code node alone in this process's sandbox and returns its error, logs and all (the
    engine keeps only the message)."""
    try:
        await run_node(Code, [{"json": {}}], params={"code": textwrap.dedent(code), **parameters},
                       code_sandbox=code_sandbox())
    except NodeUserError as exc:
        return exc
    raise AssertionError("the code did not fail")
