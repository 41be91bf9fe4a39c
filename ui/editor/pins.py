"""Pinned data in the editor: pinning a node's output, editing it as JSON, and "Debug in editor"."""

from __future__ import annotations

import json

from ui.editor.graph import can_pin, normalized

MAX_PIN_BYTES = 1_000_000  # the API's limit for all pins of a workflow (backend/engine/pins.py)


def first_output(output: dict | None) -> list[dict]:
    """The items a node's first (only) output port sent."""
    for items in (output or {}).values():
        if isinstance(items, list):
            return items
    return []


def with_pin(definition: dict, name: str, items: list[dict] | None) -> dict:
    """The definition with `name` pinned to `items` (None: unpinned)."""
    definition = normalized(definition)
    pins = dict(definition.get("pin_data") or {})
    if items is None:
        pins.pop(name, None)
    else:
        pins[name] = items
    if pins:
        definition["pin_data"] = pins
    else:
        definition.pop("pin_data", None)
    return definition


def parse_pin_text(text: str) -> list[dict]:
    """Pinned items typed as JSON: a list of objects (or one object); ValueError says what is wrong."""
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"Not valid JSON: {exc.msg} (line {exc.lineno})") from None
    if isinstance(value, dict):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        raise ValueError("Pinned data is a list of JSON objects, one per item")
    return [v if isinstance(v.get("json"), dict) and set(v) <= {"json", "binary"} else {"json": v} for v in value]


def pins_from_steps(definition: dict, steps: list[dict], catalog: dict[str, dict]) -> tuple[dict, list[str]]:
    """Debug in editor: the outputs of an execution's succeeded nodes as pins, and the nodes left out.

    Nodes are matched by id (the execution may be of an older version: names can differ); only
    nodes that can be pinned are, and pins stop before the API's size limit.
    """
    nodes = {n["id"]: n for n in definition["nodes"]}
    last: dict[str, dict] = {}
    for step in steps:  # oldest first: a node that ran several times keeps its last run
        last[step["node_id"]] = step
    pins: dict[str, list[dict]] = {}
    skipped: list[str] = []
    size = 0
    for node_id, step in last.items():
        node = nodes.get(node_id)
        if node is None or step.get("status") != "succeeded":
            continue
        if not can_pin(node, catalog.get(node["type"])):
            skipped.append(node["name"])
            continue
        items = first_output(step.get("output"))
        cost = len(json.dumps(items, default=str)) + len(node["name"]) + 8
        if size + cost > MAX_PIN_BYTES:
            skipped.append(node["name"])
            continue
        pins[node["name"]], size = items, size + cost
    return pins, skipped


def captured_event(definition: dict, steps: list[dict]) -> dict | None:
    """The request a test event brought (the Webhook trigger's first item), to run again with."""
    triggers = {n["id"] for n in definition.get("nodes", []) if n.get("type") == "webhook"}
    for step in steps:
        if step.get("node_id") in triggers:
            items = first_output(step.get("output"))
            if items and isinstance(items[0], dict) and isinstance(items[0].get("json"), dict):
                return items[0]["json"]
    return None
