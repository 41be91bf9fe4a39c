"""Loop nodes: batches on "loop", the body once per batch, everything returned on "done"."""

from __future__ import annotations

from engine_testkit import CALLS, SEEN, items, jsons, node, workflow

from backend.engine import InMemoryStepStore


def loop_workflow(batch_size: int, *extra_nodes, extra_edges=()) -> dict:
    return workflow(
        node("S", "start"), node("L", "loop", x=100, batch_size=batch_size),
        node("Body", "tag", x=200, key="seen", value="{{ $item_index }}"),
        node("After", x=300, y=100), *extra_nodes,
        edges=["S -> L", "L:loop -> Body", "Body -> L", "L:done -> After", *extra_edges])


async def test_the_body_runs_once_per_batch_and_done_gets_everything(harness):
    numbers = items(*({"n": n} for n in range(5)))
    result = await harness.run(loop_workflow(2), numbers)
    assert result.status == "succeeded"
    assert [len(seen["items"]) for seen in SEEN["Body"]] == [2, 2, 1]
    assert jsons(result.output) == [{"n": 0, "seen": 0}, {"n": 1, "seen": 1}, {"n": 2, "seen": 0},
                                    {"n": 3, "seen": 1}, {"n": 4, "seen": 0}]
    assert result.nodes["Body"]["runs"] == 3
    assert result.nodes["L"]["runs"] == 4  # three batches and the final "done"
    assert CALLS["After"] == 1 and CALLS["L"] == 0  # the engine runs loop nodes itself


async def test_body_steps_are_recorded_per_iteration(harness):
    store = InMemoryStepStore()
    await harness.run(loop_workflow(1), items({"n": 1}, {"n": 2}), store=store)
    body_runs = sorted(run_index for node_id, run_index in store.steps if node_id == "body")
    assert body_runs == [0, 1]
    assert store.steps[("l", 0)].output == {"loop": [{"json": {"n": 1}}]}
    assert store.steps[("l", 2)].output["done"] == [{"json": {"n": 1, "seen": 0}}, {"json": {"n": 2, "seen": 0}}]


async def test_a_loop_without_items_is_skipped(harness):
    definition = loop_workflow(1, node("E", "empty", x=50))
    definition["connections"] = [c for c in definition["connections"] if c["from"] != "s"]
    definition["connections"] += [{"from": "s", "to": "e"}, {"from": "e", "to": "l"}]
    result = await harness.run(definition)
    assert result.nodes["L"]["status"] == "skipped" and result.nodes["After"]["status"] == "skipped"
    assert "Body" not in result.nodes  # never reached, so not reported


async def test_body_branches_that_do_not_return_are_dropped_from_done(harness):
    definition = workflow(
        node("S", "start"), node("L", "loop", x=100, batch_size=1), node("If", "branch", x=200),
        node("Keep", x=300), node("Drop", x=300, y=100), node("After", x=400),
        edges=["S -> L", "L:loop -> If", "If:true -> Keep", "If:false -> Drop", "Keep -> L", "L:done -> After"])
    result = await harness.run(definition, items({"ok": 1, "n": 1}, {"ok": 0, "n": 2}, {"ok": 1, "n": 3}))
    assert [i["json"]["n"] for i in result.output] == [1, 3]
    assert CALLS["Drop"] == 1 and CALLS["Keep"] == 2


async def test_nested_loops(harness):
    # Outer batches of 2; for each, the inner loop goes through the batch one item at a time.
    definition = workflow(
        node("S", "start"),
        node("Outer", "loop", x=100, batch_size=2),
        node("Inner", "loop", x=200, batch_size=1),
        node("Work", "tag", x=300, key="inner_run", value="{{ $input[0]['json']['n'] }}"),
        node("Back", x=400, y=100),
        node("After", x=500),
        edges=["S -> Outer", "Outer:loop -> Inner", "Inner:loop -> Work", "Work -> Inner",
               "Inner:done -> Back", "Back -> Outer", "Outer:done -> After"])
    result = await harness.run(definition, items(*({"n": n} for n in range(5))))
    assert result.status == "succeeded"
    assert CALLS["Work"] == 5 and CALLS["Back"] == 3
    assert [len(s["items"]) for s in SEEN["Back"]] == [2, 2, 1]
    assert jsons(result.output) == [{"n": n, "inner_run": n} for n in range(5)]
    assert result.nodes["Inner"]["runs"] == 5 + 3  # one step per batch plus one "done" per activation


async def test_a_body_node_can_read_items_from_before_the_loop(harness):
    definition = workflow(
        node("S", "start"), node("Lookup", "tag", x=50, y=200, key="table", value=True),
        node("L", "loop", x=100, batch_size=1), node("Mix", "join", x=200), node("After", x=300),
        edges=["S -> Lookup", "S -> L", "L:loop -> Mix:input1", "Lookup -> Mix:input2", "Mix -> L",
               "L:done -> After"])
    result = await harness.run(definition, items({"n": 1}, {"n": 2}))
    assert [len(s["inputs"]["input2"]) for s in SEEN["Mix"]] == [2, 2]
    assert len(result.output) == 6


async def test_too_many_iterations_fail_before_the_body_runs(harness):
    harness.services.max_loop_iterations = 3
    result = await harness.run(loop_workflow(1), items(*({"n": n} for n in range(4))))
    assert result.status == "failed"
    assert result.error["node"] == "L"
    assert "would run 4 times (4 items in batches of 1), more than the limit of 3" in result.error["message"]
    assert CALLS["Body"] == 0


async def test_batch_size_from_an_expression(harness):
    definition = loop_workflow(1)
    definition["nodes"][1]["parameters"]["batch_size"] = "{{ $json.size }}"
    result = await harness.run(definition, items({"size": 3}, {"size": 3}, {"size": 3}, {"size": 3}))
    assert [len(s["items"]) for s in SEEN["Body"]] == [3, 1]
    assert len(result.output) == 4


async def test_a_disabled_loop_sends_its_input_to_done(harness):
    definition = loop_workflow(1)
    definition["nodes"][1]["disabled"] = True
    result = await harness.run(definition, items({"n": 1}, {"n": 2}))
    assert CALLS["Body"] == 0 and jsons(result.output) == [{"n": 1}, {"n": 2}]
    assert result.nodes["L"]["status"] == "disabled"
