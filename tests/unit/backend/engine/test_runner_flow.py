"""Run order, start nodes, skipping, always_output, disabled nodes, branches and merges."""

from __future__ import annotations

from engine_testkit import CALLS, SEEN, chain, items, jsons, node, workflow

from backend.engine import InMemoryStepStore


async def test_items_flow_along_a_chain(harness):
    definition = workflow(node("S", "start"), node("A", "tag", key="a", value=1),
                          node("B", "tag", key="b", value=2), edges=chain("S", "A", "B"))
    result = await harness.run(definition, items({"n": 1}, {"n": 2}))
    assert result.status == "succeeded"
    assert jsons(result.output) == [{"n": 1, "a": 1, "b": 2}, {"n": 2, "a": 1, "b": 2}]
    assert result.nodes["A"]["status"] == "succeeded" and result.nodes["A"]["runs"] == 1
    assert result.steps == 3 and result.error is None


async def test_without_input_the_start_gets_one_empty_item(harness):
    result = await harness.run(workflow(node("S", "start")))
    assert result.output == [{"json": {}}]


async def test_ties_run_left_to_right_then_top_to_bottom_then_by_name(harness):
    definition = workflow(
        node("S", "start"),
        node("Right", x=300), node("Low", x=100, y=200), node("High", x=100, y=-50),
        node("Bee", x=200), node("Ant", x=200),
        edges=[f"S -> {name}" for name in ("Right", "Low", "High", "Bee", "Ant")],
    )
    store = InMemoryStepStore()
    await harness.run(definition, store=store)
    assert [step.node_name for step in store.steps.values()] == [
        "S", "High", "Low", "Ant", "Bee", "Right"]


async def test_a_node_runs_after_everything_that_reaches_it(harness):
    # Far runs right of Near but feeds it, so Near must wait even though it sits further left.
    definition = workflow(node("S", "start"), node("Far", x=500), node("Near", "join", x=10),
                          edges=["S -> Far", "S -> Near:input1", "Far -> Near:input2"])
    result = await harness.run(definition, items({"v": 1}))
    assert jsons(result.nodes["Near"]["items"]) == [{"v": 1}, {"v": 1}]
    assert CALLS["Near"] == 1


async def test_without_a_trigger_every_root_node_starts(harness):
    definition = workflow(node("A"), node("B", y=10), node("J", "join", x=100),
                          edges=["A -> J:input1", "B -> J:input2"])
    result = await harness.run(definition, items({"x": 1}))
    assert jsons(result.output) == [{"x": 1}, {"x": 1}]


async def test_a_node_without_items_is_skipped_and_so_are_its_successors(harness):
    definition = workflow(node("S", "start"), node("E", "empty"), node("After"), node("Last"),
                          edges=chain("S", "E", "After", "Last"))
    result = await harness.run(definition)
    assert result.status == "succeeded"
    assert result.nodes["After"]["status"] == "skipped" and result.nodes["Last"]["status"] == "skipped"
    assert CALLS["After"] == 0
    assert result.output == [{"json": {}}]  # the last node that produced items was the start


async def test_always_output_runs_with_no_items_and_sends_one_empty_item(harness):
    definition = workflow(node("S", "start"), node("E", "empty"),
                          node("After", settings={"always_output": True}), node("Last", "tag", key="k", value=1),
                          edges=chain("S", "E", "After", "Last"))
    result = await harness.run(definition)
    assert SEEN["After"][0]["items"] == []
    assert result.nodes["After"]["items"] == [{"json": {}}]
    assert jsons(result.output) == [{"k": 1}]


async def test_a_disconnected_node_is_skipped_when_there_is_a_trigger(harness):
    result = await harness.run(workflow(node("S", "start"), node("Lonely")))
    assert result.nodes["Lonely"]["status"] == "skipped"


async def test_a_disabled_node_passes_items_through(harness):
    definition = workflow(node("S", "start"), node("Off", "tag", key="k", value=1, disabled=True),
                          node("After"), edges=chain("S", "Off", "After"))
    result = await harness.run(definition, items({"a": 1}))
    assert result.nodes["Off"]["status"] == "disabled"
    assert CALLS["Off"] == 0
    assert jsons(result.output) == [{"a": 1}]


async def test_a_disabled_branch_node_sends_everything_to_its_first_output(harness):
    definition = workflow(node("S", "start"), node("If", "branch", disabled=True), node("Yes"), node("No"),
                          edges=["S -> If", "If:true -> Yes", "If:false -> No"])
    result = await harness.run(definition, items({"ok": False}))
    assert result.nodes["Yes"]["status"] == "succeeded" and result.nodes["No"]["status"] == "skipped"


async def test_branches_route_items_and_skip_the_empty_side(harness):
    definition = workflow(node("S", "start"), node("If", "branch"), node("Yes", "tag", key="side", value="yes"),
                          node("No", "tag", key="side", value="no", y=100),
                          edges=["S -> If", "If:true -> Yes", "If:false -> No"])
    result = await harness.run(definition, items({"ok": True, "n": 1}, {"ok": True, "n": 2}))
    assert result.nodes["If"]["outputs"]["false"] == []
    assert result.nodes["No"]["status"] == "skipped"
    assert [i["json"]["n"] for i in result.nodes["Yes"]["items"]] == [1, 2]


async def test_both_branches_join_in_a_merge(harness):
    definition = workflow(
        node("S", "start"), node("If", "branch", x=100), node("Yes", x=200), node("No", x=200, y=100),
        node("Merge", "join", x=300),
        edges=["S -> If", "If:true -> Yes", "If:false -> No", "Yes -> Merge:input1", "No -> Merge:input2"])
    result = await harness.run(definition, items({"ok": True, "n": 1}, {"ok": False, "n": 2}, {"ok": 1, "n": 3}))
    assert [i["json"]["n"] for i in result.output] == [1, 3, 2]
    seen = SEEN["Merge"][0]
    assert seen["items"] == seen["inputs"]["input1"]  # `items` is the first input's items
    assert [i["json"]["n"] for i in seen["inputs"]["input2"]] == [2]


async def test_a_merge_runs_when_only_one_input_has_items(harness):
    definition = workflow(node("S", "start"), node("If", "branch"), node("Merge", "join", x=100),
                          edges=["S -> If", "If:true -> Merge:input1", "If:false -> Merge:input2"])
    result = await harness.run(definition, items({"ok": False}))
    assert result.nodes["Merge"]["status"] == "succeeded"
    assert SEEN["Merge"][0]["inputs"] == {"input1": [], "input2": [{"json": {"ok": False}}]}


async def test_items_from_two_connections_into_one_port_are_concatenated_by_position(harness):
    definition = workflow(node("S", "start"), node("Low", "tag", key="from", value="low", y=100),
                          node("High", "tag", key="from", value="high", y=0), node("End", x=100),
                          edges=["S -> Low", "S -> High", "Low -> End", "High -> End"])
    result = await harness.run(definition)
    assert [i["json"]["from"] for i in result.output] == ["high", "low"]


async def test_start_node_starts_the_run_there(harness):
    definition = workflow(node("S", "start"), node("A", "tag", key="a", value=1), node("B"),
                          edges=chain("S", "A", "B"))
    result = await harness.run(definition, items({"x": 1}), start_node="A")
    assert CALLS["S"] == 0 and result.nodes["S"]["status"] == "skipped"
    assert jsons(result.output) == [{"x": 1, "a": 1}]


async def test_an_unknown_start_node_fails_the_run(harness):
    result = await harness.run(workflow(node("S", "start")), start_node="Nope")
    assert result.status == "failed" and "start node 'Nope' does not exist" in result.error["message"]


async def test_an_invalid_workflow_fails_with_every_problem(harness):
    result = await harness.run(workflow(node("A", "nope"), node("B", "tag")))
    assert result.status == "failed"
    assert [p["node"] for p in result.error["problems"]] == ["A", "B"]
    assert "the workflow is invalid" in result.error["message"]


async def test_a_node_returning_an_unknown_port_fails_clearly(harness):
    from engine_testkit import make_registry

    from nodes.sdk import Node

    class Wrong(Node):
        type = "wrong"
        display_name = "Wrong"
        side_effects = False

        async def execute(self, ctx, items):
            return {"elsewhere": items}

    harness.services.registry = make_registry()
    harness.services.registry.add(Wrong)
    result = await harness.run(workflow(node("S", "start"), node("W", "wrong"), edges=["S -> W"]))
    assert result.status == "failed"
    assert result.error["node"] == "W" and "unknown output(s) ['elsewhere']" in result.error["message"]


async def test_a_run_cannot_start_inside_a_loop_body(harness):
    definition = workflow(node("S", "start"), node("L", "loop"), node("Body"),
                          edges=["S -> L", "L:loop -> Body", "Body -> L"])
    result = await harness.run(definition, start_node="Body")
    assert result.status == "failed" and "cannot start inside a loop body" in result.error["message"]


def test_run_sync_for_scripts():
    from engine_testkit import make_registry

    from backend.engine import EngineServices, WorkflowDefinition, run_sync

    definition = WorkflowDefinition.model_validate(
        workflow(node("S", "start"), node("T", "tag", key="k", value="{{ $json.n + 1 }}"), edges=["S -> T"]))
    result = run_sync(definition, input_items=items({"n": 1}), services=EngineServices(registry=make_registry()))
    assert result.status == "succeeded" and jsons(result.output) == [{"n": 1, "k": 2}]
