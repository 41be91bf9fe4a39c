"""Pinned data: a node's output fixed as test data, as in n8n.

A definition may carry ``pin_data: {"Node name": [items]}``. In runs started from the
editor (modes ``manual`` and ``test``) a pinned node does not execute: its first output
sends the pinned items. Production runs (webhook, schedule, retry, sub-workflow, error)
ignore pins. In ``test`` mode the trigger's pin is ignored too: the event that arrived is
what the run is about.

Only nodes with exactly one output port can be pinned (an IF's items on two ports cannot
be told apart in one list), and never a loop node. Pins are bounded in size so a
definition stays cheap to save, load and send to the browser.
"""

from __future__ import annotations

import json
from typing import Any

from backend.engine.definition import NodeDefinition
from backend.engine.graph import LOOP_TYPE

PIN_MODES = frozenset({"manual", "test"})
MAX_PIN_DATA_BYTES = 1_000_000  # all pins of one workflow, serialised as JSON
MAX_PINNED_ITEMS = 1_000  # per node


def as_items(values: list) -> list[dict]:
    """Plain objects become items ``{"json": object}``; objects that already are items stay."""
    return [v if isinstance(v, dict) and isinstance(v.get("json"), dict) and set(v) <= {"json", "binary"}
            else {"json": v} for v in values]


def pin_problems(raw: Any, nodes: list[NodeDefinition], output_ports: dict[str, tuple[str, ...]]) -> list:
    """(node name or None, message) for everything wrong with ``pin_data``; [] when it is fine.

    ``output_ports`` maps node ids to their output ports (error port excluded).
    """
    if raw is None or raw == {}:
        return []
    if not isinstance(raw, dict):
        return [(None, f"pin_data must be an object of node name -> list of items, got {type(raw).__name__}")]
    problems: list[tuple[str | None, str]] = []
    size = len(json.dumps(raw, default=str))
    if size > MAX_PIN_DATA_BYTES:
        problems.append((None, f"pin_data is {size:,} bytes, more than the limit of {MAX_PIN_DATA_BYTES:,}; "
                               "pin fewer items or unpin some nodes"))
    by_name = {node.name: node for node in nodes}
    for name, values in raw.items():
        node = by_name.get(name)
        if node is None:
            problems.append((None, f"pin_data names node {name!r}, which does not exist; unpin it or rename it"))
            continue
        problems += [(name, message) for message in _node_pin_problems(node, values, output_ports)]
    return problems


def _node_pin_problems(node: NodeDefinition, values: Any, output_ports: dict[str, tuple[str, ...]]) -> list[str]:
    if not isinstance(values, list) or not all(isinstance(v, dict) for v in values):
        return ["pinned data must be a list of JSON objects (one per item)"]
    if len(values) > MAX_PINNED_ITEMS:
        return [f"{len(values)} items are pinned, more than the limit of {MAX_PINNED_ITEMS}"]
    if node.type == LOOP_TYPE:
        return ["a loop node cannot be pinned; pin a node inside or after the loop"]
    ports = output_ports.get(node.id)
    if ports is not None and len(ports) != 1:
        return [f"only nodes with one output can be pinned; this one has {len(ports)} ({', '.join(ports)})"]
    return []


def active_pins(pin_data: dict[str, list], nodes_by_name: dict, mode: str, start_ids: frozenset[str]) -> dict:
    """Pinned items by node id for a run in ``mode``; {} for production runs."""
    if mode not in PIN_MODES or not pin_data:
        return {}
    pins = {}
    for name, values in pin_data.items():
        node = nodes_by_name.get(name)
        if node is None or (mode == "test" and node.id in start_ids):
            continue
        pins[node.id] = as_items(values)
    return pins
