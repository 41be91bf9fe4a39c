from __future__ import annotations

from engine_testkit import chain, edge, make_registry, node, workflow

from backend.engine import validate


def problems_of(definition) -> list[tuple[str | None, str]]:
    return [(p.node, p.message) for p in validate(definition, make_registry())]


def test_a_valid_workflow_has_no_problems():
    definition = workflow(node("S", "start"), node("A"), node("B", "tag", key="k", value="v"),
                          edges=chain("S", "A", "B"))
    assert problems_of(definition) == []


def test_every_problem_is_reported_at_once_with_node_names():
    definition = workflow(
        node("S", "start"), node("S2", "start"),
        node("Typo", "pas"),
        node("NeedsKey", "tag"),
        node("A"), node("A"),
        {**node("Bad"), "settings": {"retrys": 3}},
        edges=["S -> Ghost", "S:nope -> A", "S -> NeedsKey:side"],
    )
    found = problems_of(definition)
    messages = " | ".join(f"{n}: {m}" for n, m in found)
    assert ("Typo", "unknown node type 'pas' version 1; is the package that provides it installed?") in found
    assert ("NeedsKey", "parameter 'key' is required") in found
    assert ("A", "2 nodes are named 'A'; node names must be unique") in found
    assert any(n == "Bad" and "settings.retrys" in m and "unknown key 'retrys'" in m and "retry" in m
               for n, m in found), messages
    assert ("S", "a connection to 'ghost' points at no node") in found
    assert ("S", "output 'nope' does not exist (outputs: main)") in found
    assert ("NeedsKey", "input 'side' does not exist (inputs: main)") in found
    assert any(n is None and "2 trigger nodes ('S', 'S2')" in m for n, m in found), messages


def test_duplicate_ids_are_reported():
    first, second = node("A"), node("B")
    second["id"] = first["id"]
    assert any("share the id 'a'" in m for _, m in problems_of(workflow(first, second)))


def test_unknown_version_is_reported():
    definition = workflow({**node("A"), "version": 7})
    assert problems_of(definition) == [
        ("A", "unknown node type 'pass' version 7; is the package that provides it installed?")]


def test_shape_errors_name_the_path():
    definition = {"nodes": [{"id": "a", "name": "A", "type": "pass", "settings": {"retry": {"max_tries": 0}}}],
                  "connections": "nope", "settings": {"timezone": "Mars/Base", "colour": "red"}}
    found = problems_of(definition)
    messages = [m for _, m in found]
    assert any(n == "A" and "nodes[0].settings.retry.max_tries" in m for n, m in found), found
    assert "connections must be a list, got str" in messages
    assert any("unknown timezone 'Mars/Base'" in m for m in messages), messages
    assert any("settings.colour: unknown key 'colour'" in m and "timezone" in m for m in messages), messages


def test_not_an_object():
    assert problems_of([]) == [(None, "the workflow must be a JSON object")]


def test_parameters_with_expressions_are_checked_at_run_time_only():
    definition = workflow(
        node("Typed", "number", amount="{{ $json.n }}"),  # a string now, an int once evaluated
        node("Wrong", "number", amount="many"),
        node("Unknown", "number", amount=1, colour="{{ 1 }}"),  # unknown keys are always wrong
    )
    found = problems_of(definition)
    assert [n for n, _ in found] == ["Wrong", "Unknown"]
    assert "parameter 'amount'" in found[0][1] and "'many'" in found[0][1]
    assert found[1] == ("Unknown", "parameter 'colour' is not a parameter of this node")


def test_missing_parameter_is_reported_even_when_others_hold_expressions():
    assert problems_of(workflow(node("T", "tag", value="{{ $json.x }}"))) == [
        ("T", "parameter 'key' is required")]


def test_error_port_exists_only_with_error_output():
    base = [node("A", "flaky"), node("B")]
    without = workflow(*base, edges=["A:error -> B"])
    assert problems_of(without) == [("A", "output 'error' does not exist (outputs: main)")]
    base[0]["settings"] = {"on_error": "error_output"}
    assert problems_of(workflow(*base, edges=["A:error -> B"])) == []


def test_zero_triggers_are_allowed():
    assert problems_of(workflow(node("A"), node("B"), edges=chain("A", "B"))) == []


def test_a_cycle_without_a_loop_node_is_rejected():
    definition = workflow(node("S", "start"), node("A"), node("B"), node("C"),
                          edges=["S -> A", "A -> B", "B -> C", "C -> A"])
    assert problems_of(definition) == [
        (None, "nodes 'A', 'B', 'C' form a cycle that does not go through a loop node's 'loop' output")]


def test_a_node_connected_to_itself_is_rejected():
    assert problems_of(workflow(node("A"), edges=["A -> A"])) == [("A", "node 'A' is connected to itself")]


def test_a_cycle_through_a_loop_node_is_allowed():
    definition = workflow(node("S", "start"), node("L", "loop"), node("Body"), node("After"),
                          edges=["S -> L", "L:loop -> Body", "Body -> L", "L:done -> After"])
    assert problems_of(definition) == []


def test_a_cycle_through_the_done_output_is_rejected():
    definition = workflow(node("S", "start"), node("L", "loop"), node("Body"), node("After"),
                          edges=["S -> L", "L:loop -> Body", "Body -> L", "L:done -> After", "After -> L"])
    assert [m for _, m in problems_of(definition)] == [
        "nodes 'After', 'L' form a cycle that does not go through a loop node's 'loop' output"]


def test_loop_bodies_must_nest():
    definition = workflow(node("S", "start"), node("L1", "loop"), node("L2", "loop"), node("Shared"),
                          edges=["S -> L1", "S -> L2", "L1:loop -> Shared", "L2:loop -> Shared"])
    assert problems_of(definition) == [("Shared", "node 'Shared' is inside the bodies of loops 'L1' and 'L2', "
                                                  "which are not nested; a node can belong to one loop body "
                                                  "(and the loops around it)")]


def test_loops_cannot_be_inside_each_other():
    definition = workflow(node("S", "start"), node("L1", "loop"), node("L2", "loop"), node("Shared"),
                          edges=["S -> L1", "S -> L2", "L1:loop -> Shared", "L2:loop -> Shared",
                                 "Shared -> L1", "Shared -> L2"])
    assert [m for _, m in problems_of(definition)] == [
        "loops 'L1' and 'L2' are each inside the other's body; nest one loop completely inside the other"]


def test_a_body_node_cannot_also_follow_done():
    definition = workflow(node("S", "start"), node("L", "loop"), node("Body"),
                          edges=["S -> L", "L:loop -> Body", "Body -> L", "L:done -> Body"])
    assert problems_of(definition) == [
        ("Body", "node 'Body' is inside the body of loop 'L' and also connected to its 'done' output")]


def test_unknown_credential_slot():
    definition = workflow({**node("A"), "credentials": {"api": "cred-1"}})
    assert problems_of(definition) == [("A", "credential slot 'api' does not exist (slots: none)")]


def test_edge_helper_reads_ports():
    assert edge("A:true -> B:input2") == {"from": "a", "output": "true", "to": "b", "input": "input2"}
