"""Pins, Debug in editor, sticky notes, expression preview input and the diff canvas (ui/editor, ui/state/diff)."""

import json

import pytest

from backend.node_registry.service import catalog
from ui.editor import graph, pins, preview, stickies
from ui.state.diff import diff_canvas


@pytest.fixture(scope="module")
def entries() -> dict[str, dict]:
    return {e["type"]: e for e in catalog() if e["latest"]}


def chain() -> dict:
    return {"nodes": [{"id": "t", "name": "Start", "type": "manual_trigger", "position": [0, 0]},
                      {"id": "s", "name": "Double", "type": "set", "position": [300, 0]},
                      {"id": "i", "name": "Check", "type": "if", "position": [600, 0]}],
            "connections": [{"from": "t", "to": "s"}, {"from": "s", "to": "i"}], "settings": {}}


def test_pins_follow_renames_and_go_with_deleted_nodes():
    definition = pins.with_pin(chain(), "Double", [{"json": {"a": 1}}])
    assert graph.pinned_names(definition) == {"Double"}
    graph.rename_pins(definition, "Double", "Twice")
    assert definition["pin_data"] == {"Twice": [{"json": {"a": 1}}]}
    definition["nodes"][1]["name"] = "Twice"
    assert "pin_data" not in graph.delete(definition, ["s"], [])
    assert "pin_data" not in pins.with_pin(definition, "Twice", None)
    assert graph.normalized(definition)["pin_data"] == definition["pin_data"]  # kept by every edit


def test_only_single_output_nodes_can_be_pinned(entries):
    nodes = {n["name"]: n for n in chain()["nodes"]}
    assert graph.can_pin(nodes["Double"], entries["set"])
    assert not graph.can_pin(nodes["Check"], entries["if"])
    assert not graph.can_pin({"type": "loop"}, entries["loop"])


def test_pinned_json_is_checked_and_plain_objects_become_items():
    assert pins.parse_pin_text('{"a": 1}') == [{"json": {"a": 1}}]
    assert pins.parse_pin_text('[{"json": {"a": 1}}, {"b": 2}]') == [{"json": {"a": 1}}, {"json": {"b": 2}}]
    with pytest.raises(ValueError, match="Not valid JSON"):
        pins.parse_pin_text("[{")
    with pytest.raises(ValueError, match="list of JSON objects"):
        pins.parse_pin_text("[1, 2]")


def test_debug_pins_the_last_successful_output_of_pinnable_nodes(entries):
    steps = [
        {"node_id": "t", "status": "succeeded", "output": {"main": [{"json": {"n": 1}}]}},
        {"node_id": "s", "status": "succeeded", "output": {"main": [{"json": {"n": 1, "d": 2}}]}},
        {"node_id": "s", "status": "succeeded", "output": {"main": [{"json": {"n": 1, "d": 3}}]}},
        {"node_id": "i", "status": "succeeded", "output": {"true": [{"json": {}}], "false": []}},
        {"node_id": "gone", "status": "succeeded", "output": {"main": [{"json": {}}]}},
    ]
    pinned, skipped = pins.pins_from_steps(chain(), steps, entries)
    assert pinned == {"Start": [{"json": {"n": 1}}], "Double": [{"json": {"n": 1, "d": 3}}]}
    assert skipped == ["Check"]
    failed = [{"node_id": "s", "status": "failed", "output": {}}]
    assert pins.pins_from_steps(chain(), failed, entries) == ({}, [])


def test_debug_stays_inside_the_pin_size_limit(entries):
    big = [{"json": {"text": "x" * (pins.MAX_PIN_BYTES - 100)}}]
    steps = [{"node_id": "t", "status": "succeeded", "output": {"main": big}},
             {"node_id": "s", "status": "succeeded", "output": {"main": big}}]
    pinned, skipped = pins.pins_from_steps(chain(), steps, entries)
    assert list(pinned) == ["Start"] and skipped == ["Double"]


def test_sticky_notes_are_added_edited_moved_and_deleted():
    definition, note = stickies.add_sticky(chain(), (10, 20))
    assert stickies.is_sticky(definition, note["id"])
    edited = stickies.update_sticky(definition, note["id"], {"text": "# Hi", "width": 50, "height": 400})
    assert edited["sticky_notes"][0]["text"] == "# Hi"
    assert edited["sticky_notes"][0]["size"] == [80, 400]  # never smaller than the canvas allows
    assert stickies.update_sticky(edited, note["id"], {"text": "# Hi"}) is None  # nothing changed
    assert stickies.update_sticky(edited, "nope", {"text": "x"}) is None
    moved = graph.move_nodes(edited, [{"id": note["id"], "x": 99.6, "y": 5}])
    assert moved["sticky_notes"][0]["position"] == [100, 5]
    canvas = stickies.canvas_sticky(moved["sticky_notes"][0])
    assert (canvas["type"], canvas["width"], canvas["data"]["text"]) == ("sticky", 80, "# Hi")
    assert "sticky_notes" not in graph.delete(moved, [note["id"]], [])


def test_preview_uses_the_last_input_else_the_parents_pins():
    definition = chain()
    run_data = {"s": {"input": {"main": [{"json": {"n": 5}}]}, "output": {"main": [{"json": {"d": 10}}]}}}
    items, nodes, found = preview.preview_input(definition, "s", run_data)
    assert (items, nodes, found) == ([{"json": {"n": 5}}], {"Double": [{"json": {"d": 10}}]}, True)
    pinned = pins.with_pin(definition, "Start", [{"json": {"n": 7}}])
    items, nodes, found = preview.preview_input(pinned, "s", {})
    assert items == [{"json": {"n": 7}}] and nodes == {"Start": [{"json": {"n": 7}}]} and found
    assert preview.preview_input(definition, "s", {}) == ([], {}, False)


def test_preview_input_stays_under_the_api_limit():
    huge = [{"json": {"text": "x" * 100_000}} for _ in range(10)]
    items, nodes, _ = preview.preview_input(chain(), "s", {"s": {"input": {"main": huge}, "output": {"main": huge}}})
    assert len(items) == 1 and len(json.dumps([items, nodes])) < preview.BUDGET_BYTES


def test_expression_fields_are_found_in_collections_too():
    from ui.editor.forms import FormField, SubField

    fields = [FormField(key="url", label="URL", value="{{ $json.u }}"),
              FormField(key="fields", label="Fields", kind="collection",
                        rows=[[SubField(key="name", label="Name", value="a"),
                               SubField(key="value", label="Value", value="x {{ 1 }}")]]),
              FormField(key="plain", label="Plain", value="text")]
    assert preview.expression_fields(fields) == [("url", -1, "", "{{ $json.u }}"), ("fields", 0, "value", "x {{ 1 }}")]
    assert preview.field_id("fields", 0, "value") == "fields.0.value" and preview.field_id("url", -1, "") == "url"


def test_diff_canvas_marks_changes_and_ghosts_removed_nodes(entries):
    old = chain()
    current = [graph.canvas_node(n, entries[n["type"]]) for n in old["nodes"] if n["id"] != "i"]
    diff = {"nodes": {"added": [], "removed": [{"id": "i", "name": "Check", "type": "if"}],
                      "changed": [{"id": "s", "name": "Double", "fields": {"parameters.fields": {}}}]}}
    nodes = {n["id"]: n for n in diff_canvas(current, old, diff, entries)}
    assert nodes["s"]["data"]["diff"] == "changed" and "parameters.fields" in nodes["s"]["data"]["diffNote"]
    assert nodes["t"]["data"]["diff"] == ""
    assert nodes["removed:i"]["data"]["diff"] == "removed" and nodes["removed:i"]["draggable"] is False


def test_a_captured_test_event_is_the_webhook_triggers_first_item():
    from ui.editor.pins import captured_event

    definition = {"nodes": [{"id": "hook", "type": "webhook"}, {"id": "set", "type": "set"}]}
    steps = [{"node_id": "hook", "output": {"main": [{"json": {"body": {"qty": 2}, "headers": {}}}]}},
             {"node_id": "set", "output": {"main": [{"json": {"total": 4}}]}}]
    assert captured_event(definition, steps) == {"body": {"qty": 2}, "headers": {}}
    assert captured_event(definition, steps[1:]) is None
