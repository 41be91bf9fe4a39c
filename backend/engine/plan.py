"""A definition compiled once into what the runner needs: classes, edges, order, parameters.

Compiling validates the definition; a definition with problems never becomes a plan.
Plans are cached per registry, keyed by the definition's canonical JSON, so running the
same workflow again (a webhook firing a thousand times) costs one serialisation, not a
re-validation. Passing a cached plan's own ``plan.definition`` (a ``WorkflowDefinition``)
back in skips even that: it is recognised by identity. A plan is shared between runs and
must never be changed by one, and neither must its definition.
"""

from __future__ import annotations

import json
import threading
import weakref
from collections import OrderedDict
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from pydantic import BaseModel

from backend.engine.definition import NodeDefinition, NodeSettings, WorkflowDefinition
from backend.engine.expressions import has_expression
from backend.engine.graph import LOOP_TYPE, TOOL_PORT, Edge
from backend.engine.validate import ERROR_PORT, Inspection, Problem, has_tools, inspect_workflow, output_ports
from nodes.sdk import Node, NodeRegistry

MAX_CACHED_PLANS = 256


class InvalidWorkflow(ValueError):
    """The definition cannot run; ``problems`` lists every reason."""

    def __init__(self, problems: list[Problem], definition: WorkflowDefinition) -> None:
        lines = "; ".join(str(p) for p in problems[:20])
        more = f" (and {len(problems) - 20} more)" if len(problems) > 20 else ""
        super().__init__(f"the workflow is invalid: {lines}{more}")
        self.problems = problems
        self.definition = definition


@dataclass(slots=True, eq=False)
class PlannedNode:
    id: str
    name: str
    definition: NodeDefinition
    cls: type[Node]
    settings: NodeSettings
    incoming: tuple[Edge, ...]  # forward edges, ordered by the source's position
    input_ports: tuple[str, ...]
    output_ports: tuple[str, ...]  # what execute may return, without the engine's error port
    first_output: str  # the port a list returned by execute goes to; what $node["Name"] reads
    is_loop: bool
    static_params: BaseModel | None  # validated once: the parameters hold no expression

    @property
    def first_input(self) -> str:
        return self.input_ports[0] if self.input_ports else "main"

    @property
    def all_output_ports(self) -> tuple[str, ...]:
        return (*self.output_ports, ERROR_PORT)


@dataclass(slots=True, eq=False)
class Plan:
    definition: WorkflowDefinition
    nodes: dict[str, PlannedNode]  # by id, in definition order
    by_name: dict[str, PlannedNode]
    order: list[str]  # top-region units in run order (see graph.py)
    bodies: dict[str, list[str]]  # loop id -> body units in run order
    back_edges: dict[str, list[Edge]]  # loop id -> edges from its body into it
    in_loop_body: frozenset[str]
    start_ids: frozenset[str]  # the trigger, else every node without incoming connections
    timezone: ZoneInfo
    tools: dict[str, tuple[str, ...]] = field(default_factory=dict)  # agent id -> ids of the nodes on its "tools" output
    tool_ids: frozenset[str] = frozenset()  # nodes that run only when an agent calls them

    def tools_of(self, agent_id: str) -> list[PlannedNode]:
        return [self.nodes[i] for i in self.tools.get(agent_id, ())]


class _Plans:
    """One registry's cached plans: by canonical JSON, and by identity of ``plan.definition``."""

    def __init__(self) -> None:
        self.by_key: OrderedDict[str, Plan] = OrderedDict()
        self.by_identity: dict[int, tuple[str, Plan]] = {}  # id(plan.definition): alive while cached


_cache: weakref.WeakKeyDictionary[NodeRegistry, _Plans] = weakref.WeakKeyDictionary()
_cache_lock = threading.Lock()  # worker threads share the cache


def compile_plan(definition: dict | WorkflowDefinition, registry: NodeRegistry) -> Plan:
    """The plan for ``definition``; raises ``InvalidWorkflow`` listing every problem."""
    with _cache_lock:
        plans = _cache.get(registry)
        if plans is None:
            plans = _cache[registry] = _Plans()
        key, known = plans.by_identity.get(id(definition), ("", None))
        if known is not None and known.definition is definition:
            plans.by_key.move_to_end(key)
            return known  # a hot caller (webhooks) hands back plan.definition: no serialising
    if isinstance(definition, WorkflowDefinition):
        key = definition.model_dump_json(by_alias=True)
    else:
        key = json.dumps(definition, sort_keys=True, default=str)
    with _cache_lock:
        plan = plans.by_key.get(key)
        if plan is not None:
            plans.by_key.move_to_end(key)
            return plan
    plan = _build(inspect_workflow(definition, registry))  # outside the lock: compiling takes a while
    with _cache_lock:
        if key in plans.by_key:  # another thread compiled it meanwhile: keep one plan per key
            return plans.by_key[key]
        plans.by_key[key] = plan
        plans.by_identity[id(plan.definition)] = (key, plan)
        if len(plans.by_key) > MAX_CACHED_PLANS:
            _, evicted = plans.by_key.popitem(last=False)
            plans.by_identity.pop(id(evicted.definition), None)
    return plan


def _build(inspection: Inspection) -> Plan:
    definition, topology = inspection.definition, inspection.topology
    if inspection.problems or topology is None:
        raise InvalidWorkflow(inspection.problems, definition)
    positions = {n.id: (n.position[0], n.position[1], n.name) for n in definition.nodes}
    nodes = {}
    for node in definition.nodes:
        incoming = sorted(topology.incoming[node.id], key=lambda e: positions[e.source])
        nodes[node.id] = _planned(node, inspection.classes[node.id], tuple(incoming))
    triggers = [n.id for n in nodes.values() if n.cls.trigger is not None]
    starts = triggers or [n.id for n in nodes.values() if not n.incoming and n.id in topology.order]
    in_body = frozenset(i for body in topology.bodies.values() for i in body)
    back_edges = {loop_id: sorted(edges, key=lambda e: positions[e.source])
                  for loop_id, edges in topology.back_edges.items()}
    tools: dict[str, list[str]] = {}
    for node in nodes.values():
        for edge in node.incoming:
            if edge.output == TOOL_PORT and has_tools(nodes[edge.source].cls):
                tools.setdefault(edge.source, []).append(node.id)
    tools_sorted = {agent: tuple(sorted(ids, key=lambda i: positions[i])) for agent, ids in tools.items()}
    return Plan(
        definition=definition, nodes=nodes, by_name={n.name: n for n in nodes.values()},
        order=topology.order, bodies=topology.bodies, back_edges=back_edges,
        in_loop_body=in_body, start_ids=frozenset(starts), timezone=ZoneInfo(definition.settings.timezone),
        tools=tools_sorted, tool_ids=frozenset(i for ids in tools_sorted.values() for i in ids),
    )


def _planned(node: NodeDefinition, cls: type[Node], incoming: tuple[Edge, ...]) -> PlannedNode:
    ports = tuple(p for p in output_ports(node, cls) if p != ERROR_PORT)
    static = None if has_expression(node.parameters) else cls.Parameters.model_validate(node.parameters)
    return PlannedNode(
        id=node.id, name=node.name, definition=node, cls=cls, settings=node.settings,
        incoming=incoming, input_ports=tuple(cls.inputs), output_ports=ports,
        first_output=ports[0] if ports else "main", is_loop=node.type == LOOP_TYPE, static_params=static,
    )
