"""The shape of a workflow graph: loop bodies, back-edges and the deterministic run order.

Loops are the only cycles allowed. The body of a loop node is every node reachable from
its ``loop`` output without passing through the loop node itself; edges from the body
back into the loop node are back-edges. Bodies must nest properly, so the graph splits
into *regions*: the top region (nodes in no body) and one region per loop body. Inside a
region a loop node stands for itself plus its whole body, and each region is ordered
topologically with ties broken by position (x, then y) and then name. That order is the
order nodes run in, so two runs of the same definition do the same things in the same
sequence.
"""

from __future__ import annotations

import heapq
from collections import defaultdict
from dataclasses import dataclass, field

LOOP_TYPE = "loop"
LOOP_PORT = "loop"
DONE_PORT = "done"
TOOL_PORT = "tools"  # an AI Agent's tool nodes hang off this output (see plan.py, runner.py)


@dataclass(frozen=True, slots=True)
class Edge:
    source: str
    output: str
    target: str
    input: str


@dataclass(frozen=True, slots=True)
class GraphNode:
    id: str
    name: str
    position: tuple[float, float]
    is_loop: bool


@dataclass
class Topology:
    order: list[str] = field(default_factory=list)  # top-region units, in run order
    bodies: dict[str, list[str]] = field(default_factory=dict)  # loop id -> body units, in run order
    incoming: dict[str, list[Edge]] = field(default_factory=dict)  # forward edges into each node
    back_edges: dict[str, list[Edge]] = field(default_factory=dict)  # loop id -> edges back from its body
    problems: list[tuple[str | None, str]] = field(default_factory=list)  # (node name, message)


def analyse(nodes: list[GraphNode], edges: list[Edge]) -> Topology:
    """Order the graph for running, or say why it cannot be run (``problems``)."""
    by_id = {node.id: node for node in nodes}
    topology = Topology()
    bodies = {node.id: _body(node.id, edges) for node in nodes if node.is_loop}
    back = {e for e in edges if _is_back_edge(e, bodies)}
    topology.problems += _loop_problems(bodies, edges, by_id)
    topology.problems += [(by_id[e.source].name, f"node {by_id[e.source].name!r} is connected to itself")
                          for e in edges if e.source == e.target and e not in back]
    if topology.problems:
        return topology
    paths = _unit_paths(nodes, bodies)
    topology.incoming = {node.id: [] for node in nodes}
    topology.back_edges = {loop_id: [] for loop_id in bodies}
    for edge in edges:
        if edge in back:
            topology.back_edges[edge.target].append(edge)
        else:
            topology.incoming[edge.target].append(edge)
    regions = _region_dependencies(paths, [e for e in edges if e not in back])
    for region, units in _region_units(paths).items():
        order, cycle = _sorted_units(units, regions[region], by_id)
        if cycle:
            names = ", ".join(repr(by_id[u].name) for u in sorted(cycle, key=lambda u: by_id[u].name))
            topology.problems.append(
                (None, f"nodes {names} form a cycle that does not go through a loop node's 'loop' output"))
        if region is None:
            topology.order = order
        else:
            topology.bodies[region] = order
    return topology


def _body(loop_id: str, edges: list[Edge]) -> frozenset[str]:
    outgoing = defaultdict(list)
    for edge in edges:
        outgoing[edge.source].append(edge.target)
    stack = [e.target for e in edges if e.source == loop_id and e.output == LOOP_PORT]
    seen: set[str] = set()
    while stack:
        node_id = stack.pop()
        if node_id == loop_id or node_id in seen:
            continue
        seen.add(node_id)
        stack.extend(outgoing[node_id])
    return frozenset(seen)


def _is_back_edge(edge: Edge, bodies: dict[str, frozenset[str]]) -> bool:
    body = bodies.get(edge.target)
    if body is None:
        return False
    return edge.source in body or (edge.source == edge.target and edge.output == LOOP_PORT)


def _loop_problems(bodies: dict[str, frozenset[str]], edges: list[Edge], by_id: dict) -> list:
    problems = []
    for edge in edges:
        if edge.output == DONE_PORT and edge.target in bodies.get(edge.source, ()):
            loop, target = by_id[edge.source].name, by_id[edge.target].name
            problems.append((target, f"node {target!r} is inside the body of loop {loop!r} "
                                     f"and also connected to its 'done' output"))
    loop_ids = sorted(bodies, key=lambda i: by_id[i].name)
    for i, first in enumerate(loop_ids):
        for second in loop_ids[i + 1:]:
            problems += _nesting_problem(first, second, bodies, by_id)
    return problems


def _nesting_problem(first: str, second: str, bodies: dict, by_id: dict) -> list:
    first_name, second_name = by_id[first].name, by_id[second].name
    second_inside, first_inside = second in bodies[first], first in bodies[second]
    if second_inside and first_inside:
        return [(first_name, f"loops {first_name!r} and {second_name!r} are each inside the other's body; "
                             "nest one loop completely inside the other")]
    shared = bodies[first] & bodies[second]
    if shared and not (second_inside or first_inside):
        node = by_id[min(shared, key=lambda i: by_id[i].name)].name
        return [(node, f"node {node!r} is inside the bodies of loops {first_name!r} and {second_name!r}, "
                       "which are not nested; a node can belong to one loop body (and the loops around it)")]
    return []


def _unit_paths(nodes: list[GraphNode], bodies: dict[str, frozenset[str]]) -> dict[str, tuple[str, ...]]:
    """For each node, the enclosing loops from the outermost in, then the node itself."""
    paths = {}
    for node in nodes:
        enclosing = [loop_id for loop_id, body in bodies.items() if node.id in body]
        enclosing.sort(key=lambda loop_id: -len(bodies[loop_id]))  # nested bodies shrink inwards
        paths[node.id] = (*enclosing, node.id)
    return paths


def _region_units(paths: dict[str, tuple[str, ...]]) -> dict[str | None, list[str]]:
    """Units of each region: the nodes whose innermost enclosing loop is that region's loop."""
    regions: dict[str | None, list[str]] = defaultdict(list)
    for node_id, path in paths.items():
        regions[path[-2] if len(path) > 1 else None].append(node_id)
    for path in paths.values():  # a loop's body region exists even when nothing is in it
        if len(path) > 1:
            regions.setdefault(path[-2], [])
    return regions


def _region_dependencies(paths: dict, forward_edges: list[Edge]) -> dict[str | None, set]:
    """(unit, unit) pairs per region: where an edge crosses between two units of one region."""
    dependencies: dict[str | None, set[tuple[str, str]]] = defaultdict(set)
    for edge in forward_edges:
        source_path, target_path = paths[edge.source], paths[edge.target]
        for level, (source_unit, target_unit) in enumerate(zip(source_path, target_path, strict=False)):
            if source_unit != target_unit:
                region = target_path[level - 1] if level else None
                dependencies[region].add((source_unit, target_unit))
                break
    return dependencies


def _sorted_units(units: list[str], dependencies: set, by_id: dict) -> tuple[list[str], set[str]]:
    """Kahn's algorithm; among ready units the leftmost (then topmost, then by name) goes first."""
    successors: dict[str, list[str]] = defaultdict(list)
    waiting_on = dict.fromkeys(units, 0)
    for source, target in dependencies:
        successors[source].append(target)
        waiting_on[target] += 1

    def rank(unit: str) -> tuple:
        node = by_id[unit]
        return (node.position[0], node.position[1], node.name, unit)

    ready = [rank(u) for u, count in waiting_on.items() if count == 0]
    heapq.heapify(ready)
    order = []
    while ready:
        unit = heapq.heappop(ready)[-1]
        order.append(unit)
        for successor in successors[unit]:
            waiting_on[successor] -= 1
            if waiting_on[successor] == 0:
                heapq.heappush(ready, rank(successor))
    return order, set(units) - set(order)
