"""Checking a workflow definition before it is saved or run: every problem at once."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ValidationError

from backend.engine.definition import Connection, NodeDefinition, WorkflowDefinition, WorkflowSettings
from backend.engine.expressions import syntax_error
from backend.engine.graph import LOOP_TYPE, TOOL_PORT, Edge, GraphNode, Topology, analyse
from backend.engine.params import format_loc, static_problems
from backend.engine.pins import pin_problems
from nodes.sdk import Node, NodeRegistry
from nodes.sdk.registry import UnknownNodeType

ERROR_PORT = "error"


@dataclass(frozen=True, slots=True)
class Problem:
    node: str | None  # the node's name, None for problems of the workflow as a whole
    message: str
    draft_ok: bool = False  # a parameter problem: a draft may be saved with it (activation refuses it)

    def __str__(self) -> str:
        return f"node {self.node!r}: {self.message}" if self.node else self.message


@dataclass
class Inspection:
    """What validation learned; the runner compiles its plan from it."""

    definition: WorkflowDefinition
    classes: dict[str, type[Node]] = field(default_factory=dict)  # node id -> class
    topology: Topology | None = None
    problems: list[Problem] = field(default_factory=list)


def validate(definition: dict | WorkflowDefinition, registry: NodeRegistry) -> list[Problem]:
    """Every problem that stops the workflow from running, each naming its node.

    >>> validate({"nodes": [{"id": "a", "name": "A", "type": "nope"}]}, registry)
    [Problem(node='A', message="unknown node type 'nope' version 1; ...")]
    """
    return inspect_workflow(definition, registry).problems


def inspect_workflow(definition: dict | WorkflowDefinition, registry: NodeRegistry) -> Inspection:
    parsed = isinstance(definition, WorkflowDefinition)
    inspection = Inspection(definition) if parsed else _parse(definition)
    nodes = inspection.definition.nodes
    problems = inspection.problems
    problems += _duplicate_problems(nodes)
    for node in nodes:
        problems += _node_problems(node, registry, inspection.classes)
    ids = {node.id: node for node in nodes}
    problems += _connection_problems(inspection.definition.connections, ids, inspection.classes)
    problems += _trigger_problems(nodes, inspection.classes)
    problems += _pin_problems(inspection.definition, inspection.classes)
    problems += _tool_problems(inspection.definition, ids, inspection.classes)
    inspection.topology = _topology(inspection.definition, ids)
    problems += [Problem(name, message) for name, message in inspection.topology.problems]
    return inspection


def expression_problems(definition: dict) -> list[Problem]:
    """Syntax errors in the ``{{ }}`` of every node's parameters (found at save time, without running)."""
    problems = []
    for node in definition.get("nodes") or [] if isinstance(definition, dict) else []:
        if not isinstance(node, dict):
            continue
        name = node.get("name") if isinstance(node.get("name"), str) else None
        for path, text in _expression_strings(node.get("parameters"), "parameters", 0):
            message = syntax_error(text)
            if message:
                problems.append(Problem(name, f"{path}: {message}", draft_ok=True))
    return problems


def _expression_strings(value: Any, path: str, depth: int):
    if isinstance(value, str):
        if "{{" in value:
            yield path, value
    elif depth < 32 and isinstance(value, dict):
        for key, item in value.items():
            yield from _expression_strings(item, f"{path}.{key}", depth + 1)
    elif depth < 32 and isinstance(value, list):
        for index, item in enumerate(value):
            yield from _expression_strings(item, f"{path}[{index}]", depth + 1)


def _parse(raw: Any) -> Inspection:
    if not isinstance(raw, dict):
        empty = WorkflowDefinition()
        return Inspection(empty, problems=[Problem(None, "the workflow must be a JSON object")])
    problems: list[Problem] = []
    nodes = _parse_list(raw, "nodes", NodeDefinition, problems)
    connections = _parse_list(raw, "connections", Connection, problems)
    settings = _parse_one(raw.get("settings", {}), WorkflowSettings, None, "settings", problems)
    pin_data = raw.get("pin_data") or {}
    if not isinstance(pin_data, dict):
        problems.append(Problem(None, f"pin_data must be an object of node name -> list of items, "
                                      f"got {type(pin_data).__name__}"))
        pin_data = {}
    name = raw.get("name", "")
    if not isinstance(name, str):
        problems.append(Problem(None, f"name must be a string, got {type(name).__name__}"))
    definition = WorkflowDefinition.model_construct(
        name=name if isinstance(name, str) else "", nodes=nodes, connections=connections,
        settings=settings or WorkflowSettings(), pin_data=pin_data)
    return Inspection(definition, problems=problems)


def _parse_list(raw: dict, key: str, model: type[BaseModel], problems: list[Problem]) -> list:
    values = raw.get(key, [])
    if not isinstance(values, list):
        problems.append(Problem(None, f"{key} must be a list, got {type(values).__name__}"))
        return []
    parsed = []
    for index, value in enumerate(values):
        name = value.get("name") if isinstance(value, dict) and key == "nodes" else None
        item = _parse_one(value, model, name if isinstance(name, str) else None, f"{key}[{index}]", problems)
        if item is not None:
            parsed.append(item)
    return parsed


def _parse_one(value: Any, model: type[BaseModel], node: str | None, where: str, problems: list[Problem]):
    try:
        return model.model_validate(value)
    except ValidationError as exc:
        for error in exc.errors():
            problems.append(Problem(node, _shape_message(where, model, error)))
        return None


def _shape_message(where: str, model: type[BaseModel], error: dict) -> str:
    loc = tuple(error["loc"])
    path = f"{where}.{format_loc(loc)}" if loc else where
    if error["type"] == "extra_forbidden":
        allowed = _allowed_keys(model, loc[:-1])
        return f"{path}: unknown key {loc[-1]!r}" + (f"; allowed: {', '.join(allowed)}" if allowed else "")
    if error["type"] == "missing":
        return f"{path} is required"
    return f"{path}: {error['msg']}"


def _allowed_keys(model: type[BaseModel], loc: tuple) -> list[str]:
    current: Any = model
    for part in loc:
        field_info = current.model_fields.get(part) if isinstance(current, type) else None
        current = field_info.annotation if field_info else None
        if not (isinstance(current, type) and issubclass(current, BaseModel)):
            return []
    return sorted(f.alias or n for n, f in current.model_fields.items())


def _duplicate_problems(nodes: list[NodeDefinition]) -> list[Problem]:
    problems = []
    for name, count in Counter(n.name for n in nodes).items():
        if count > 1:
            problems.append(Problem(name, f"{count} nodes are named {name!r}; node names must be unique"))
    for node_id, count in Counter(n.id for n in nodes).items():
        if count > 1:
            names = ", ".join(repr(n.name) for n in nodes if n.id == node_id)
            problems.append(Problem(None, f"nodes {names} share the id {node_id!r}; node ids must be unique"))
    return problems


def _node_problems(node: NodeDefinition, registry: NodeRegistry, classes: dict) -> list[Problem]:
    try:
        cls = registry.get(node.type, node.version)
    except UnknownNodeType as exc:
        return [Problem(node.name, f"{exc}; is the package that provides it installed?")]
    classes.setdefault(node.id, cls)
    problems = [Problem(node.name, line, draft_ok=True) for line in static_problems(cls.Parameters, node.parameters)]
    for slot in node.credentials:
        if slot not in cls.credential_slots:
            known = ", ".join(cls.credential_slots) or "none"
            problems.append(Problem(node.name, f"credential slot {slot!r} does not exist (slots: {known})"))
    return problems


def output_ports(node: NodeDefinition, cls: type[Node]) -> tuple[str, ...]:
    """The ports this node can send items to, including the error port when it is on."""
    try:
        ports = tuple(cls.output_ports(node.parameters))
    except Exception:  # a dynamic node with broken parameters: those are reported on their own
        ports = tuple(cls.outputs)
    return (*ports, ERROR_PORT) if node.settings.on_error == "error_output" else ports


def _connection_problems(connections: list[Connection], ids: dict, classes: dict) -> list[Problem]:
    problems = []
    for conn in connections:
        source, target = ids.get(conn.from_), ids.get(conn.to)
        for missing_id, role in ((conn.from_, "from"), (conn.to, "to")):
            if missing_id not in ids:
                named = source or target
                problems.append(Problem(named.name if named else None,
                                        f"a connection {role} {missing_id!r} points at no node"))
        if source and source.id in classes:
            ports = output_ports(source, classes[source.id])
            if conn.output not in ports:
                problems.append(Problem(source.name, f"output {conn.output!r} does not exist "
                                                     f"(outputs: {', '.join(ports) or 'none'})"))
        if target and target.id in classes:
            inputs = classes[target.id].inputs
            if conn.input not in inputs:
                problems.append(Problem(target.name, f"input {conn.input!r} does not exist "
                                                     f"(inputs: {', '.join(inputs) or 'none'})"))
    return problems


def _trigger_problems(nodes: list[NodeDefinition], classes: dict) -> list[Problem]:
    triggers = [n.name for n in nodes if n.id in classes and classes[n.id].trigger is not None]
    if len(triggers) <= 1:
        return []
    names = ", ".join(repr(name) for name in triggers)
    return [Problem(None, f"the workflow has {len(triggers)} trigger nodes ({names}); keep one")]


def _pin_problems(definition: WorkflowDefinition, classes: dict) -> list[Problem]:
    ports = {node.id: tuple(p for p in output_ports(node, classes[node.id]) if p != ERROR_PORT)
             for node in definition.nodes if node.id in classes}
    return [Problem(name, message) for name, message in pin_problems(definition.pin_data, definition.nodes, ports)]


def has_tools(cls: type[Node] | None) -> bool:
    """Whether a node type's ``tools`` output holds tools (an AI Agent's), not items (a Switch rule so named)."""
    return cls is not None and TOOL_PORT in cls.outputs and not cls.dynamic_outputs


def _tool_problems(definition: WorkflowDefinition, ids: dict, classes: dict) -> list[Problem]:
    """A node on an agent's ``tools`` output runs only when the agent calls it, and answers only the agent."""
    problems = []
    tools = {c.to: ids[c.from_].name for c in definition.connections
             if c.output == TOOL_PORT and c.from_ in ids and c.to in ids and has_tools(classes.get(c.from_))}
    for tool_id, agent in tools.items():
        tool = ids[tool_id]
        if tool_id in classes and (classes[tool_id].trigger is not None or tool.type == LOOP_TYPE):
            problems.append(Problem(tool.name, f"node {tool.name!r} is a tool of {agent!r} but a trigger or loop "
                                               "cannot be a tool"))
        others = [c for c in definition.connections if c.to == tool_id and c.output != TOOL_PORT
                  or c.to == tool_id and ids.get(c.from_) is not None and ids[c.from_].name != agent]
        onward = [c for c in definition.connections if c.from_ == tool_id]
        if others or onward:
            problems.append(Problem(tool.name, f"node {tool.name!r} is a tool of {agent!r} (on its 'tools' output): "
                                               "it runs only when the agent calls it and its output goes back to "
                                               "the agent, so it cannot have other connections"))
    return problems


def _topology(definition: WorkflowDefinition, ids: dict) -> Topology:
    graph_nodes = []
    for node in ids.values():
        x, y = node.position
        graph_nodes.append(GraphNode(node.id, node.name, (x, y), node.type == LOOP_TYPE))
    edges = [Edge(c.from_, c.output, c.to, c.input) for c in definition.connections
             if c.from_ in ids and c.to in ids]
    return analyse(graph_nodes, list(dict.fromkeys(edges)))  # a connection drawn twice counts once
