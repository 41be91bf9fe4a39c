"""Pinned data (manual runs use it, production runs ignore it) and runs up to a destination node."""

from __future__ import annotations

import pytest
from engine_testkit import CALLS, chain, items, jsons, make_registry, node, workflow

from backend.engine import validate
from backend.engine.pins import MAX_PIN_DATA_BYTES


def _pinned(definition: dict, **pins: list) -> dict:
    return {**definition, "pin_data": pins}


CHAIN = workflow(node("S", "start"), node("A", "tag", key="a", value=1, x=100),
                 node("B", "tag", key="b", value=2, x=200), edges=chain("S", "A", "B"))


async def test_a_pinned_node_is_not_called_and_sends_its_pins(harness):
    definition = _pinned(CHAIN, A=[{"json": {"pinned": True}}])
    result = await harness.run(definition, items({"n": 1}))
    assert result.status == "succeeded"
    assert CALLS["A"] == 0 and CALLS["B"] == 1
    assert jsons(result.output) == [{"pinned": True, "b": 2}]
    assert result.nodes["A"]["pinned"] is True and result.nodes["B"]["pinned"] is False


async def test_plain_objects_are_pinned_as_items(harness):
    result = await harness.run(_pinned(CHAIN, A=[{"x": 1}, {"x": 2}]))
    assert jsons(result.output) == [{"x": 1, "b": 2}, {"x": 2, "b": 2}]


@pytest.mark.parametrize("mode", ["webhook", "schedule", "retry", "subworkflow"])
async def test_production_runs_ignore_pins(harness, mode):
    result = await harness.run(_pinned(CHAIN, A=[{"json": {"pinned": True}}]), items({"n": 1}), mode=mode)
    assert CALLS["A"] == 1
    assert jsons(result.output) == [{"n": 1, "a": 1, "b": 2}]


async def test_a_pinned_trigger_replaces_the_manual_input_but_not_a_test_event(harness):
    definition = _pinned(CHAIN, S=[{"json": {"from": "pin"}}])
    manual = await harness.run(definition, items({"from": "input"}))
    assert jsons(manual.output) == [{"from": "pin", "a": 1, "b": 2}]
    test = await harness.run(definition, items({"from": "event"}), mode="test")
    assert jsons(test.output) == [{"from": "event", "a": 1, "b": 2}]


async def test_a_pinned_node_on_a_branch_not_taken_stays_skipped(harness):
    definition = _pinned(workflow(
        node("S", "start"), node("If", "branch", x=100), node("Yes", x=200), node("After", x=300),
        edges=["S -> If", "If:true -> Yes", "Yes -> After"]), Yes=[{"json": {"pinned": True}}])
    result = await harness.run(definition, items({"ok": False}))
    assert result.nodes["Yes"]["status"] == "skipped"
    assert result.nodes["After"]["status"] == "skipped"


async def test_run_up_to_a_destination_runs_only_its_ancestors(harness):
    definition = workflow(
        node("S", "start"), node("A", x=100), node("B", "tag", key="b", value=1, x=200),
        node("Other", x=200, y=200), node("C", x=300),
        edges=["S -> A", "A -> B", "A -> Other", "B -> C"])
    result = await harness.run(definition, items({"n": 1}), destination_node="B")
    assert result.status == "succeeded"
    assert set(result.nodes) == {"S", "A", "B"}
    assert CALLS["Other"] == 0 and CALLS["C"] == 0
    assert jsons(result.output) == [{"n": 1, "b": 1}]


async def test_a_destination_does_not_run_what_a_pin_stands_in_for(harness):
    definition = _pinned(CHAIN, A=[{"json": {"pinned": 1}}])
    result = await harness.run(definition, destination_node="B")
    assert CALLS["S"] == 0 and CALLS["A"] == 0 and CALLS["B"] == 1
    assert set(result.nodes) == {"A", "B"}
    assert jsons(result.output) == [{"pinned": 1, "b": 2}]


async def test_a_pinned_destination_just_shows_its_pins(harness):
    result = await harness.run(_pinned(CHAIN, B=[{"json": {"only": True}}]), destination_node="B")
    assert set(result.nodes) == {"B"} and sum(CALLS.values()) == 0
    assert jsons(result.output) == [{"only": True}]


async def test_a_destination_inside_a_loop_runs_the_whole_loop(harness):
    definition = workflow(
        node("S", "start"), node("L", "loop", batch_size=1, x=100), node("Body", x=200), node("After", x=300),
        edges=["S -> L", "L:loop -> Body", "Body -> L", "L:done -> After"])
    result = await harness.run(definition, items({"n": 1}, {"n": 2}), destination_node="Body")
    assert result.status == "succeeded"
    assert CALLS["Body"] == 2 and CALLS["After"] == 0


async def test_an_unknown_destination_fails_the_run_clearly(harness):
    result = await harness.run(CHAIN, destination_node="Nope")
    assert result.status == "failed"
    assert "destination node 'Nope' does not exist" in result.error["message"]
    assert sum(CALLS.values()) == 0


def test_validation_names_every_bad_pin():
    definition = workflow(node("S", "start"), node("If", "branch", x=100), node("L", "loop", x=200),
                          node("A", x=300), edges=["S -> If", "If:true -> L", "L:loop -> A", "A -> L"])
    definition["pin_data"] = {"Ghost": [{}], "If": [{}], "L": [{}], "A": "not a list"}
    problems = {(p.node, p.message) for p in validate(definition, make_registry())}
    assert (None, "pin_data names node 'Ghost', which does not exist; unpin it or rename it") in problems
    assert ("If", "only nodes with one output can be pinned; this one has 2 (true, false)") in problems
    assert ("L", "a loop node cannot be pinned; pin a node inside or after the loop") in problems
    assert ("A", "pinned data must be a list of JSON objects (one per item)") in problems


def test_validation_bounds_the_size_of_pins():
    definition = _pinned(CHAIN, A=[{"json": {"text": "x" * MAX_PIN_DATA_BYTES}}])
    messages = [p.message for p in validate(definition, make_registry())]
    assert any("more than the limit of 1,000,000" in m for m in messages)
    assert validate(_pinned(CHAIN, A=[{"json": {"text": "x" * 1000}}]), make_registry()) == []


def test_pin_data_must_be_an_object():
    definition = {**CHAIN, "pin_data": ["A"]}
    assert [p.message for p in validate(definition, make_registry())] == [
        "pin_data must be an object of node name -> list of items, got list"]
