"""Bounded memory (issue #15): a port's items past the spill threshold go to storage and are read back in
batches; batchable nodes run batch by batch, the others get the old list. Built-in nodes, real spill files."""

from __future__ import annotations

import asyncio

import pytest

from backend.engine import EngineServices, ExecutionInfo, InMemoryStepStore, run
from backend.engine.items import (
    BATCH_ITEMS,
    SPILLED,
    ItemCollector,
    ItemStream,
    TempFileSpill,
    revive,
    storable,
)
from nodes.builtin.set import Set
from nodes.sdk import Node, NodeRegistry
from nodes.sdk.registry import default_registry

ROWS = 2500  # three batches


def node(id_: str, type_: str, x: int, **parameters) -> dict:
    return {"id": id_, "name": id_, "type": type_, "version": 1, "position": [x, 0], "parameters": parameters}


def pipeline(*extra: dict) -> dict:
    nodes = [node("start", "manual_trigger", 0),
             node("double", "set", 1, fields=[{"name": "double", "value": "{{ $json.n * 2 }}"},
                                              {"name": "index", "value": "{{ $item_index }}"}]),
             node("odd", "filter", 2, conditions=[{"left": "{{ $json.n % 2 }}", "operation": "equals", "right": 1}]),
             node("sorted", "sort", 3, fields=[{"field": "n", "order": "desc"}]),
             *extra]
    ids = [n["id"] for n in nodes]
    return {"name": "spill", "nodes": nodes, "connections": [{"from": a, "to": b} for a, b in zip(ids, ids[1:],
                                                                                                  strict=False)]}


def rows(count: int = ROWS) -> list[dict]:
    return [{"json": {"n": n, "text": f"row {n}"}} for n in range(count)]


async def run_with(definition: dict, threshold: int, store=None, input_items=None):
    store = store if store is not None else InMemoryStepStore()
    services = EngineServices(spill=TempFileSpill(), spill_threshold_bytes=threshold)
    result = await run(definition, execution=ExecutionInfo(id="e1"), input_items=input_items or rows(),
                       store=store, services=services)
    return result, store


def test_a_collector_keeps_a_list_under_the_threshold_and_spills_past_it():
    spill = TempFileSpill()
    small = ItemCollector(spill, 10_000)
    small.add([{"json": {"n": 1}}])
    assert small.finish() == [{"json": {"n": 1}}]

    large = ItemCollector(spill, 200)
    for start in range(0, 3000, BATCH_ITEMS):
        large.add([{"json": {"n": n}} for n in range(start, start + BATCH_ITEMS)])
    stream = large.finish()
    assert isinstance(stream, ItemStream) and len(stream) == 3000 and stream
    assert [len(batch) for batch in stream.batches()] == [1000, 1000, 1000]
    assert [item["json"]["n"] for item in stream] == list(range(3000))  # read again, from the start
    assert stream[2999] == {"json": {"n": 2999}} and stream[-1] == stream[2999] and stream[1:3] == [
        {"json": {"n": 1}}, {"json": {"n": 2}}]
    with pytest.raises(IndexError):
        stream[3000]  # noqa: B018


def test_a_spilled_port_is_stored_as_a_marker_and_revived_as_a_stream():
    spill = TempFileSpill()
    collector = ItemCollector(spill, 0)
    collector.add([{"json": {"n": 1}}, {"json": {"n": 2}}])
    stream = collector.finish()
    stored = storable({"main": stream, "other": [{"json": {}}]})
    assert stored["main"] == {SPILLED: {**stream.ref, "count": 2}} and stored["other"] == [{"json": {}}]
    revived = revive(stored, spill)
    assert isinstance(revived["main"], ItemStream) and list(revived["main"]) == [{"json": {"n": 1}}, {"json": {"n": 2}}]
    assert revived["other"] == [{"json": {}}]
    with pytest.raises(FileNotFoundError):  # a reference is never a path: only ids this spill made
        list(ItemStream(spill, {"id": "../../etc/passwd"}, 1))


async def test_a_spilled_pipeline_gives_what_the_in_memory_one_gives():
    in_memory, memory_store = await run_with(pipeline(), threshold=1 << 30)
    spilled, store = await run_with(pipeline(), threshold=1000)
    assert in_memory.status == spilled.status == "succeeded"
    assert spilled.output == in_memory.output and len(spilled.output) == ROWS // 2
    assert spilled.output[0]["json"] == {"n": 2499, "text": "row 2499", "double": 4998, "index": 2499}
    # Set and Filter handed over streams; Sort (not batchable) got a list and made one past the threshold.
    assert isinstance(store.steps[("double", 0)].output["main"], ItemStream)
    assert isinstance(store.steps[("odd", 0)].output["main"], ItemStream)
    assert isinstance(store.steps[("sorted", 0)].output["main"], ItemStream)
    assert all(isinstance(port, list) for step in memory_store.steps.values() for port in step.output.values())


async def test_a_batchable_node_runs_once_per_batch_of_a_streamed_input(monkeypatch):
    sizes: list[int] = []
    execute = Set.execute

    async def counting(self, ctx, items):
        sizes.append(len(items))
        return await execute(self, ctx, items)

    monkeypatch.setattr(Set, "execute", counting)
    first = node("first", "set", 1, fields=[{"name": "a", "value": 1}])
    second = node("second", "set", 2, fields=[{"name": "b", "value": "{{ $json.a + 1 }}"}])
    definition = {"name": "two sets", "nodes": [node("start", "manual_trigger", 0), first, second],
                  "connections": [{"from": "start", "to": "first"}, {"from": "first", "to": "second"}]}
    result, _ = await run_with(definition, threshold=1000)
    assert result.status == "succeeded" and len(result.output) == ROWS
    assert sizes == [ROWS, 1000, 1000, 500]  # the first got the trigger's list, the second the stream
    assert result.output[-1]["json"] == {"n": ROWS - 1, "text": f"row {ROWS - 1}", "a": 1, "b": 2}


async def test_an_error_in_a_batch_names_the_item_of_the_whole_input():
    definition = pipeline()
    definition["nodes"].insert(2, node("check", "set", 1, fields=[
        {"name": "n", "value": "{{ 'bad' if $json.n == 2100 else $json.n }}", "type": "integer"}]))
    definition["connections"] = [{"from": a, "to": b} for a, b in [("start", "double"), ("double", "check"),
                                                                    ("check", "odd"), ("odd", "sorted")]]
    result, _ = await run_with(definition, threshold=1000)
    assert result.status == "failed"
    assert result.error["node"] == "check" and result.error["item_index"] == 2100
    assert "item 2100 of the whole input" in result.error["message"]


async def test_a_resumed_run_replays_spilled_steps_and_reads_them_back():
    first, store = await run_with(pipeline(), threshold=1000)
    again, _ = await run_with(pipeline(), threshold=1000, store=store)
    assert again.status == "succeeded" and again.replayed_steps == 4 and again.steps == 0
    assert again.output == first.output


async def test_a_node_that_passes_a_streamed_input_on_hands_over_the_same_stream():
    definition = {"name": "pass", "nodes": [node("start", "manual_trigger", 0),
                                            node("tag", "set", 1, fields=[{"name": "t", "value": 1}]),
                                            node("nothing", "noop", 2)],
                  "connections": [{"from": "start", "to": "tag"}, {"from": "tag", "to": "nothing"}]}
    result, store = await run_with(definition, threshold=1000)
    assert result.status == "succeeded" and len(result.output) == ROWS
    assert store.steps[("nothing", 0)].output["main"] is store.steps[("tag", 0)].output["main"]


async def test_expressions_read_a_spilled_nodes_output():
    definition = pipeline(node("look", "set", 4, fields=[
        {"name": "first", "value": "{{ $node['double'].json.n }}"},
        {"name": "odd", "value": "{{ $node['odd'].json.n }}"}]))
    result, store = await run_with(definition, threshold=1000)
    assert result.status == "succeeded", result.error
    assert isinstance(store.steps[("double", 0)].output["main"], ItemStream)
    assert {(item["json"]["first"], item["json"]["odd"]) for item in result.output} == {(0, 1)}


class SlowPages(Node):
    """Hands over a page, then waits: stands in for a paginated API that stops answering."""

    type = "slow_pages"
    display_name = "Slow pages"
    side_effects = False

    async def execute(self, ctx, items):
        return [item async for batch in self.produce(ctx, items) for item in batch]

    async def produce(self, ctx, items):
        yield [{"json": {"page": 1}}]
        await asyncio.sleep(5)
        yield [{"json": {"page": 2}}]


async def test_a_producing_node_is_held_to_its_timeout_for_the_whole_step():
    registry = NodeRegistry([*default_registry().all(), SlowPages])
    definition = {"name": "slow", "nodes": [node("start", "manual_trigger", 0),
                                            {**node("pages", "slow_pages", 1), "settings": {"timeout_s": 0.2}}],
                  "connections": [{"from": "start", "to": "pages"}]}
    result = await run(definition, execution=ExecutionInfo(id="e1"), input_items=[{"json": {}}],
                       store=InMemoryStepStore(), services=EngineServices(registry=registry, sleep=_no_wait))
    assert result.status == "failed" and result.error["message"] == "timed out after 0.2 s (settings.timeout_s)"


async def _no_wait(seconds: float) -> None:  # retry pauses
    return None
