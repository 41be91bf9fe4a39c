"""Nodes as an AI Agent's tools: what the LLM is told about them, and running one when it asks.

A node connected to an agent's ``tools`` output (``graph.TOOL_PORT``) is not run in the workflow's order; the
agent calls it (``ctx.call_tool``) with the LLM's arguments as its one input item, through the same step runner
as every node (parameters and expressions, credentials, the address policy, the code sandbox, retries, timeouts,
``on_error``), and each call is committed as a step of that node (run 0, 1, ...), so the execution shows it.

What the LLM sees of a tool (``describe_tools``):

* name: the node's name with characters outside ``[A-Za-z0-9_-]`` made ``_`` (at most 64; a clash gets ``_2``),
* description: the node's notes, else "<display name>: <the node type's description>",
* parameters: a JSON schema whose properties are the fields the node's parameters read from its input item
  (``$json.city``, ``$json["city"]``, ``item['json']['city']`` in code); the agent's ``tool_parameters``
  can give a tool's schema instead.
"""

from __future__ import annotations

import re
from typing import Any

from backend.engine.plan import Plan, PlannedNode

_NAME_BAD = re.compile(r"[^A-Za-z0-9_-]")
_FIELD_REFERENCES = (
    re.compile(r"\$json\.([A-Za-z_][A-Za-z0-9_]*)"),
    re.compile(r"""\$json\[\s*["']([^"'\]]{1,64})["']\s*\]"""),
    re.compile(r"""\[\s*["']json["']\s*\]\s*\[\s*["']([^"'\]]{1,64})["']\s*\]"""),
    re.compile(r"""\[\s*["']json["']\s*\]\s*\.get\(\s*["']([^"']{1,64})["']"""),
)
MAX_FIELDS = 64


def tool_name(node_name: str) -> str:
    return _NAME_BAD.sub("_", node_name)[:64] or "tool"


def describe_tools(plan: Plan, agent: PlannedNode) -> list[dict]:
    """[{"name", "node", "description", "parameters"}] for the agent's enabled tool nodes, in position order."""
    tools, used = [], set()
    for node in plan.tools_of(agent.id):
        if node.definition.disabled:
            continue
        name = base = tool_name(node.name)
        suffix = 2
        while name in used:
            name = f"{base[:60]}_{suffix}"
            suffix += 1
        used.add(name)
        description = node.definition.notes.strip() or f"{node.cls.display_name}: {node.cls.description}"
        tools.append({"name": name, "node": node.name, "description": description[:1024],
                      "parameters": _schema(node)})
    return tools


def _schema(node: PlannedNode) -> dict:
    fields: dict[str, None] = {}
    for text in _strings(node.definition.parameters, 0):
        for pattern in _FIELD_REFERENCES:
            for match in pattern.finditer(text):
                if len(fields) < MAX_FIELDS:
                    fields.setdefault(match.group(1), None)
    properties = {name: {"description": f"the value {node.name!r} reads as {name}"} for name in fields}
    return {"type": "object", "properties": properties, "required": list(fields)}


def _strings(value: Any, depth: int):
    if isinstance(value, str):
        yield value
    elif depth < 32 and isinstance(value, dict):
        for item in value.values():
            yield from _strings(item, depth + 1)
    elif depth < 32 and isinstance(value, list):
        for item in value:
            yield from _strings(item, depth + 1)
