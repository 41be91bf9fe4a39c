"""Workflow definitions (the API's JSON) edited as a graph, and projected onto React Flow's nodes and edges.

A definition is ``{"nodes": [...], "connections": [...], "settings": {...}}`` exactly as the
workflows API stores it; every function here returns a new definition instead of changing one.
"""

from __future__ import annotations

import copy
import json
import re
import uuid
from typing import Any

ERROR_PORT = "error"
NODE_WIDTH, GAP = 220, 60
CLIPBOARD_KIND = "linkflow/nodes"
_PORT = re.compile(r"^[a-z][a-z0-9_]*$")


def empty_definition() -> dict:
    return {"nodes": [], "connections": [], "settings": {}}


def normalized(definition: dict | None) -> dict:
    """A deep copy with every key the editor edits; pins and sticky notes only when there are some."""
    definition = copy.deepcopy(definition or {})
    clean = {"nodes": list(definition.get("nodes", [])), "connections": list(definition.get("connections", [])),
             "settings": dict(definition.get("settings", {}))}
    for key in ("pin_data", "sticky_notes"):
        if definition.get(key):
            clean[key] = definition[key]
    return clean


def node_by_id(definition: dict, node_id: str) -> dict | None:
    return next((n for n in definition["nodes"] if n["id"] == node_id), None)


def unique_name(base: str, taken: set[str]) -> str:
    if base not in taken:
        return base
    stem = re.sub(r"\s+\d+$", "", base)
    number = 2
    while f"{stem} {number}" in taken:
        number += 1
    return f"{stem} {number}"


def default_parameters(entry: dict) -> dict:
    """What a new node starts with: a fresh path for a webhook trigger, schema defaults for the rest."""
    params: dict[str, Any] = {}
    properties = entry.get("parameters_schema", {}).get("properties", {})
    if entry.get("trigger") == "webhook" and "path" in properties:
        params["path"] = uuid.uuid4().hex  # unguessable: nobody can take it first or call it by chance
    return params


def add_node(definition: dict, entry: dict, position: tuple[float, float]) -> tuple[dict, dict]:
    """The definition with a new node of catalog `entry` at `position`, and that node."""
    definition = normalized(definition)
    taken = {n["name"] for n in definition["nodes"]}
    node = {"id": new_id(), "name": unique_name(entry["display_name"], taken), "type": entry["type"],
            "version": entry["version"], "position": [round(position[0]), round(position[1])],
            "parameters": default_parameters(entry)}
    definition["nodes"].append(node)
    return definition, node


def next_free_position(definition: dict, after: str | None = None) -> tuple[float, float]:
    """Right of `after` (or of the rightmost node), where a node added by a click goes."""
    nodes = definition["nodes"]
    anchor = node_by_id(definition, after) if after else None
    if anchor is None and nodes:
        anchor = max(nodes, key=lambda n: n.get("position", [0, 0])[0])
    if anchor is None:
        return (0.0, 0.0)
    x, y = anchor.get("position", [0, 0])
    return (x + NODE_WIDTH + GAP, y)


def add_after(definition: dict, entry: dict, anchor_id: str | None,
              anchor_entry: dict | None) -> tuple[dict, dict]:
    """A palette click: the new node right of the anchor, fed by the anchor's first output (as n8n's +)."""
    definition, node = add_node(definition, entry, next_free_position(definition, anchor_id))
    anchor = node_by_id(definition, anchor_id) if anchor_id else None
    ports = output_ports(anchor, anchor_entry) if anchor else []
    inputs = list(entry.get("inputs", ["main"]))
    if anchor is not None and ports and inputs:
        definition = connect(definition, anchor["id"], ports[0], node["id"], inputs[0])
    return definition, node


ROW_HEIGHT = 140


def tidy(definition: dict) -> dict:
    """Auto-layout ("tidy up"): each node in the column of its longest path from a trigger, rows centred."""
    definition = normalized(definition)
    nodes = definition["nodes"]
    ids = {n["id"] for n in nodes}
    edges = [(c["from"], c["to"]) for c in definition["connections"] if c["from"] in ids and c["to"] in ids]
    column = {n["id"]: 0 for n in nodes}
    for _ in range(len(nodes)):  # longest path by relaxation; a loop's back edge stops growing at len(nodes)
        changed = False
        for source, target in edges:
            if column[target] < column[source] + 1 <= len(nodes):
                column[target], changed = column[source] + 1, True
        if not changed:
            break
    by_column: dict[int, list[dict]] = {}
    for node in sorted(nodes, key=lambda n: (n.get("position", [0, 0])[1], n.get("position", [0, 0])[0])):
        by_column.setdefault(column[node["id"]], []).append(node)
    for index, members in by_column.items():
        top = -(len(members) - 1) * ROW_HEIGHT / 2
        for row, node in enumerate(members):
            node["position"] = [index * (NODE_WIDTH + GAP), round(top + row * ROW_HEIGHT)]
    return definition


def new_id() -> str:
    return uuid.uuid4().hex[:10]


def move_nodes(definition: dict, moves: list[dict]) -> dict:
    definition = normalized(definition)
    where = {m["id"]: [round(float(m["x"])), round(float(m["y"]))] for m in moves if "id" in m}
    for node in [*definition["nodes"], *definition.get("sticky_notes", [])]:
        if node["id"] in where:
            node["position"] = where[node["id"]]
    return definition


def connect(definition: dict, source: str, output: str, target: str, input_: str) -> dict:
    definition = normalized(definition)
    if source == target or not node_by_id(definition, source) or not node_by_id(definition, target):
        return definition
    connection = {"from": source, "output": output or "main", "to": target, "input": input_ or "main"}
    if connection not in definition["connections"]:
        definition["connections"].append(connection)
    return definition


def edge_id(connection: dict) -> str:
    return f"{connection['from']}:{connection.get('output', 'main')}->{connection['to']}:{connection.get('input', 'main')}"


def delete(definition: dict, node_ids: list[str], edge_ids: list[str]) -> dict:
    definition = normalized(definition)
    gone, edges = set(node_ids), set(edge_ids)
    names = {n["name"] for n in definition["nodes"] if n["id"] in gone}
    definition["nodes"] = [n for n in definition["nodes"] if n["id"] not in gone]
    _drop_pins(definition, names)
    if definition.get("sticky_notes"):
        definition["sticky_notes"] = [n for n in definition["sticky_notes"] if n["id"] not in gone]
        if not definition["sticky_notes"]:
            definition.pop("sticky_notes")
    definition["connections"] = [c for c in definition["connections"]
                                 if c["from"] not in gone and c["to"] not in gone and edge_id(c) not in edges]
    return definition


def _drop_pins(definition: dict, names: set[str]) -> None:
    pins = {name: items for name, items in (definition.get("pin_data") or {}).items() if name not in names}
    if pins:
        definition["pin_data"] = pins
    else:
        definition.pop("pin_data", None)


def rename_pins(definition: dict, old: str, new: str) -> None:
    """Pins are keyed by node name: a renamed node keeps its pins (changes `definition`)."""
    pins = definition.get("pin_data") or {}
    if old in pins and old != new:
        definition["pin_data"] = {new if name == old else name: items for name, items in pins.items()}


def pinned_names(definition: dict) -> set[str]:
    return set(definition.get("pin_data") or {})


def can_pin(node: dict, entry: dict | None) -> bool:
    """Only nodes with exactly one output can be pinned, and never a loop (the engine refuses the rest)."""
    return node.get("type") != "loop" and len([p for p in output_ports(node, entry) if p != ERROR_PORT]) == 1


def output_ports(node: dict, entry: dict | None) -> list[str]:
    """The node's output ports as the engine sees them, including the error port when it is on."""
    if entry is None:
        ports: list[str] = ["main"]
    elif entry.get("dynamic_outputs"):
        ports = _dynamic_ports(node.get("parameters", {}))
    else:
        ports = list(entry.get("outputs", []))
    if node.get("settings", {}).get("on_error") == "error_output" and ERROR_PORT not in ports:
        ports.append(ERROR_PORT)
    return ports


def _dynamic_ports(parameters: dict) -> list[str]:
    # The catalog has no endpoint that computes ports from parameters, so the UI reads the
    # convention the Switch node follows: list items naming an `output`, then an optional fallback.
    ports: dict[str, None] = {}
    for value in parameters.values():
        if isinstance(value, list):
            for item in value:
                name = item.get("output") if isinstance(item, dict) else None
                if isinstance(name, str) and _PORT.match(name) and name != ERROR_PORT:
                    ports[name] = None
    if parameters.get("fallback") == "extra":
        ports["fallback"] = None
    return list(ports)


def canvas_node(node: dict, entry: dict | None, *, pinned: bool = False) -> dict:
    """One node as the React Flow canvas draws it; positions are the canvas's own during a drag."""
    x, y = (node.get("position") or [0, 0])[:2]
    return {
        "id": node["id"],
        "type": "linkflow",
        "position": {"x": x, "y": y},
        "data": {
            "label": node["name"],
            "title": entry["display_name"] if entry else f"unknown type {node['type']}",
            "icon": (entry.get("icon") or "box") if entry else "circle-help",
            "inputs": list(entry.get("inputs", [])) if entry else ["main"],
            "outputs": output_ports(node, entry),
            "trigger": bool(entry and entry.get("trigger")),
            "disabled": bool(node.get("disabled")),
            "notes": node.get("notes", ""),
            "pinned": pinned,
        },
    }


def canvas_edges(definition: dict) -> list[dict]:
    return [{"id": edge_id(c), "source": c["from"], "target": c["to"], "sourceHandle": c.get("output", "main"),
             "targetHandle": c.get("input", "main")} for c in definition["connections"]]


def clipboard_text(definition: dict, node_ids: list[str]) -> str:
    """The selected nodes and the connections between them, as text for the clipboard."""
    chosen = set(node_ids)
    nodes = [n for n in definition["nodes"] if n["id"] in chosen]
    connections = [c for c in definition["connections"] if c["from"] in chosen and c["to"] in chosen]
    return json.dumps({"kind": CLIPBOARD_KIND, "nodes": nodes, "connections": connections}, indent=2)


def parse_clipboard(text: str) -> tuple[list[dict], list[dict]] | None:
    """Nodes and connections from clipboard text (ours, or a whole exported workflow), else None."""
    try:
        data = json.loads(text)
    except (TypeError, ValueError):
        return None
    if not isinstance(data, dict) or not isinstance(data.get("nodes"), list):
        return None
    nodes = [n for n in data["nodes"] if isinstance(n, dict) and {"id", "name", "type"} <= set(n)]
    connections = [c for c in data.get("connections", []) if isinstance(c, dict) and {"from", "to"} <= set(c)]
    return (nodes, connections) if nodes else None


def paste(definition: dict, nodes: list[dict], connections: list[dict],
          at: tuple[float, float] | None) -> tuple[dict, list[str]]:
    """The definition with copies of `nodes` (new ids and names) placed at `at`, and their new ids."""
    definition = normalized(definition)
    taken = {n["name"] for n in definition["nodes"]}
    xs = [float((n.get("position") or [0, 0])[0]) for n in nodes]
    ys = [float((n.get("position") or [0, 0])[1]) for n in nodes]
    dx, dy = (at[0] - min(xs), at[1] - min(ys)) if at else (40.0, 40.0)
    new_ids: dict[str, str] = {}
    for original in nodes:
        node = copy.deepcopy(original)
        new_ids[original["id"]] = node["id"] = new_id()
        node["name"] = unique_name(original["name"], taken)
        taken.add(node["name"])
        x, y = (original.get("position") or [0, 0])[:2]
        node["position"] = [round(x + dx), round(y + dy)]
        if _needs_own_path(node, definition):
            node["parameters"]["path"] = uuid.uuid4().hex  # a copy answers at its own URL, never the original's
        definition["nodes"].append(node)
    for conn in connections:
        if conn["from"] in new_ids and conn["to"] in new_ids:
            definition["connections"].append({**conn, "from": new_ids[conn["from"]], "to": new_ids[conn["to"]]})
    return definition, list(new_ids.values())


def _needs_own_path(node: dict, definition: dict) -> bool:
    """A pasted Webhook node keeps a path a person chose, unless this workflow already listens there;
    a generated (random) path is generated anew."""
    params = node.get("parameters")
    if node["type"] != "webhook" or not isinstance(params, dict):
        return False
    path = str(params.get("path") or "").strip("/")
    used = {str((n.get("parameters") or {}).get("path") or "").strip("/")
            for n in definition["nodes"] if n.get("type") == "webhook"}
    return path in used or re.fullmatch(r"[0-9a-f]{32}|[0-9a-f]{12}", path) is not None


def webhook_paths(definition: dict, catalog: dict[str, dict]) -> list[dict]:
    """Each enabled webhook trigger's name, method and path."""
    found = []
    for node in definition["nodes"]:
        entry = catalog.get(node["type"])
        if entry and entry.get("trigger") == "webhook" and not node.get("disabled"):
            params = node.get("parameters", {})
            path = str(params.get("path", "")).strip().strip("/")
            found.append({"id": node["id"], "name": node["name"], "method": params.get("method", "POST"),
                          "path": path})
    return found
