"""Engine overhead per node: a 100-node linear workflow of pass-through nodes.

    .venv/bin/python bench/engine_overhead.py

Prints microseconds per node for the in-memory and the null step store, with one item
and with 100 items, with static parameters and with one expression per node.
"""

from __future__ import annotations

import asyncio
import time

from backend.engine import EngineServices, ExecutionInfo, InMemoryStepStore, NullStepStore, run
from nodes.sdk import Node, NodeParameters, NodeRegistry, TriggerSpec


class Start(Node):
    type = "bench_start"
    display_name = "Start"
    side_effects = False
    inputs = ()
    trigger = TriggerSpec(kind="manual")

    async def execute(self, ctx, items):
        return items


class Step(Node):
    type = "bench_step"
    display_name = "Step"
    side_effects = False

    class Parameters(NodeParameters):
        value: object = None

    async def execute(self, ctx, items):
        ctx.params(0)
        return items


def linear(count: int, value: object) -> dict:
    nodes = [{"id": "n0", "name": "N0", "type": "bench_start", "position": [0, 0]}]
    nodes += [{"id": f"n{i}", "name": f"N{i}", "type": "bench_step", "position": [i * 10, 0],
               "parameters": {"value": value}} for i in range(1, count)]
    connections = [{"from": f"n{i}", "to": f"n{i + 1}"} for i in range(count - 1)]
    return {"name": "bench", "nodes": nodes, "connections": connections}


async def per_node_us(definition: dict, store_factory, input_items: list, repeats: int = 200) -> float:
    services = EngineServices(registry=NodeRegistry([Start, Step]))
    execution = ExecutionInfo(id="bench")
    await run(definition, execution=execution, input_items=input_items, store=store_factory(), services=services)
    began = time.perf_counter()
    for _ in range(repeats):
        result = await run(definition, execution=execution, input_items=input_items, store=store_factory(),
                           services=services)
    elapsed = time.perf_counter() - began
    assert result.status == "succeeded", result.error
    return elapsed / repeats / len(definition["nodes"]) * 1e6


async def main() -> None:
    one, hundred = [{"json": {"n": 1}}], [{"json": {"n": i}} for i in range(100)]
    for label, value in (("static parameters", 1), ("one expression", "{{ $json.n }}")):
        for store_name, factory in (("null", NullStepStore), ("in-memory", InMemoryStepStore)):
            for items_label, items in (("1 item", one), ("100 items", hundred)):
                us = await per_node_us(linear(100, value), factory, items)
                print(f"{label:18} {store_name:9} store, {items_label:9}: {us:6.1f} µs/node")


if __name__ == "__main__":
    asyncio.run(main())
