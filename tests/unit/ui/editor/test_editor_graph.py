"""The editor's graph edits and canvas projection, against the real node catalog."""

import json

import pytest

from backend.node_registry.service import catalog
from ui.editor import graph


@pytest.fixture(scope="module")
def entries() -> dict[str, dict]:
    return {e["type"]: e for e in catalog() if e["latest"]}


def test_added_nodes_get_unique_names_and_a_webhook_gets_a_path(entries):
    definition, first = graph.add_node(graph.empty_definition(), entries["set"], (10.4, 20.6))
    definition, second = graph.add_node(definition, entries["set"], (300, 20))
    definition, hook = graph.add_node(definition, entries["webhook"], (0, 0))
    assert [first["name"], second["name"]] == ["Set", "Set 2"]
    assert first["position"] == [10, 21] and first["id"] != second["id"]
    assert len(hook["parameters"]["path"]) == 32


def test_edits_return_a_new_definition_and_leave_the_old_one_alone(entries):
    definition, a = graph.add_node(graph.empty_definition(), entries["manual_trigger"], (0, 0))
    before = json.dumps(definition)
    definition2, b = graph.add_node(definition, entries["set"], (300, 0))
    connected = graph.connect(definition2, a["id"], "main", b["id"], "main")
    assert graph.connect(connected, a["id"], "main", b["id"], "main") == connected  # no duplicate edge
    assert graph.connect(connected, a["id"], "main", a["id"], "main") == connected  # no self loop
    moved = graph.move_nodes(connected, [{"id": b["id"], "x": 400.2, "y": 80}])
    assert graph.node_by_id(moved, b["id"])["position"] == [400, 80]
    assert json.dumps(definition) == before


def test_deleting_a_node_drops_its_connections_and_an_edge_can_go_alone(entries):
    definition, a = graph.add_node(graph.empty_definition(), entries["manual_trigger"], (0, 0))
    definition, b = graph.add_node(definition, entries["if"], (300, 0))
    definition, c = graph.add_node(definition, entries["set"], (600, 0))
    definition = graph.connect(graph.connect(definition, a["id"], "main", b["id"], "main"),
                               b["id"], "true", c["id"], "main")
    edge = graph.edge_id(definition["connections"][1])
    assert graph.delete(definition, [], [edge])["connections"] == definition["connections"][:1]
    without_b = graph.delete(definition, [b["id"]], [])
    assert [n["name"] for n in without_b["nodes"]] == ["Manual Trigger", "Set"]
    assert without_b["connections"] == []


def test_canvas_nodes_show_the_ports_the_engine_uses(entries):
    if_node = {"id": "i", "name": "Check", "type": "if", "position": [5, 6]}
    card = graph.canvas_node(if_node, entries["if"])
    assert card["position"] == {"x": 5, "y": 6}
    assert card["data"]["inputs"] == ["main"] and card["data"]["outputs"] == ["true", "false"]
    merge = graph.canvas_node({"id": "m", "name": "M", "type": "merge"}, entries["merge"])
    assert merge["data"]["inputs"] == ["input1", "input2"]
    loop = graph.canvas_node({"id": "l", "name": "L", "type": "loop"}, entries["loop"])
    assert loop["data"]["outputs"] == ["loop", "done"]
    erroring = {**if_node, "settings": {"on_error": "error_output"}}
    assert graph.canvas_node(erroring, entries["if"])["data"]["outputs"] == ["true", "false", "error"]


def test_switch_ports_follow_its_rules(entries):
    switch = {"id": "s", "name": "Route", "type": "switch", "parameters": {
        "rules": [{"output": "paid"}, {"output": "refunded"}, {"output": "paid"}, {"output": "Bad Name"}],
        "fallback": "extra"}}
    assert graph.output_ports(switch, entries["switch"]) == ["paid", "refunded", "fallback"]


def test_copy_then_paste_makes_new_nodes_with_their_inner_connections(entries):
    definition, a = graph.add_node(graph.empty_definition(), entries["manual_trigger"], (0, 0))
    definition, b = graph.add_node(definition, entries["set"], (300, 100))
    definition = graph.connect(definition, a["id"], "main", b["id"], "main")
    text = graph.clipboard_text(definition, [a["id"], b["id"]])
    nodes, connections = graph.parse_clipboard(text)
    pasted, new_ids = graph.paste(definition, nodes, connections, (1000, 500))
    copies = [graph.node_by_id(pasted, i) for i in new_ids]
    assert [c["name"] for c in copies] == ["Manual Trigger 2", "Set 2"]
    assert [c["position"] for c in copies] == [[1000, 500], [1300, 600]]
    assert pasted["connections"][-1] == {"from": new_ids[0], "output": "main", "to": new_ids[1], "input": "main"}
    assert graph.parse_clipboard("just text") is None
    assert graph.parse_clipboard(json.dumps({"nodes": [{"no": "id"}]})) is None


def test_webhook_paths_list_enabled_webhook_triggers(entries):
    definition = {"nodes": [
        {"id": "h", "name": "Hook", "type": "webhook", "parameters": {"path": "/orders/new/", "method": "PUT"}},
        {"id": "off", "name": "Off", "type": "webhook", "disabled": True, "parameters": {"path": "x"}},
        {"id": "s", "name": "Set", "type": "set"}], "connections": []}
    assert graph.webhook_paths(definition, entries) == [
        {"id": "h", "name": "Hook", "method": "PUT", "path": "orders/new"}]


def test_a_pasted_webhook_answers_at_its_own_url_unless_its_path_was_chosen_elsewhere(entries):
    definition, hook = graph.add_node(graph.empty_definition(), entries["webhook"], (0, 0))
    generated = hook["parameters"]["path"]
    nodes, _ = graph.parse_clipboard(graph.clipboard_text(definition, [hook["id"]]))
    pasted, [copy_id] = graph.paste(definition, nodes, [], None)
    assert graph.node_by_id(pasted, copy_id)["parameters"]["path"] not in ("", generated)

    chosen = {**nodes[0], "parameters": {**nodes[0]["parameters"], "path": "orders/:id"}}
    into_another, [moved] = graph.paste(graph.empty_definition(), [chosen], [], None)
    assert graph.node_by_id(into_another, moved)["parameters"]["path"] == "orders/:id"  # a person chose it
    twice, [second] = graph.paste(into_another, [chosen], [], None)
    assert graph.node_by_id(twice, second)["parameters"]["path"] != "orders/:id"  # this workflow listens there


def test_a_palette_click_adds_the_node_connected_after_the_anchor(entries):
    definition, hook = graph.add_node(graph.empty_definition(), entries["webhook"], (0, 0))
    definition, added = graph.add_after(definition, entries["set"], hook["id"], entries["webhook"])
    assert added["position"][0] > hook["position"][0] and added["position"][1] == hook["position"][1]
    assert definition["connections"] == [{"from": hook["id"], "output": "main", "to": added["id"], "input": "main"}]
    definition, branch = graph.add_node(definition, entries["if"], (600, 0))
    definition, after_if = graph.add_after(definition, entries["set"], branch["id"], entries["if"])
    assert {"from": branch["id"], "output": "true", "to": after_if["id"], "input": "main"} in definition["connections"]


def test_a_trigger_or_no_anchor_is_added_unconnected(entries):
    definition, first = graph.add_after(graph.empty_definition(), entries["set"], None, None)
    assert definition["connections"] == [] and first["position"] == [0, 0]
    definition, trigger = graph.add_after(definition, entries["manual_trigger"], first["id"], entries["set"])
    assert definition["connections"] == []


def test_tidy_up_puts_each_node_in_the_column_of_its_longest_path(entries):
    definition, start = graph.add_node(graph.empty_definition(), entries["manual_trigger"], (500, 900))
    definition, branch = graph.add_node(definition, entries["if"], (-40, 10))
    definition, yes = graph.add_node(definition, entries["set"], (3, 3))
    definition, no = graph.add_node(definition, entries["set"], (700, 50))
    definition, merge = graph.add_node(definition, entries["noop"], (0, 0))
    for source, port, target in ((start, "main", branch), (branch, "true", yes), (branch, "false", no),
                                 (yes, "main", merge), (no, "main", merge), (start, "main", merge)):
        definition = graph.connect(definition, source["id"], port, target["id"], "main")
    tidied = {n["name"]: n["position"] for n in graph.tidy(definition)["nodes"]}
    step = graph.NODE_WIDTH + graph.GAP
    assert tidied[start["name"]] == [0, 0] and tidied[branch["name"]] == [step, 0]
    assert tidied[yes["name"]][0] == tidied[no["name"]][0] == 2 * step
    assert sorted([tidied[yes["name"]][1], tidied[no["name"]][1]]) == [-70, 70]  # one column, centred
    assert tidied[merge["name"]] == [3 * step, 0]  # after its longest path, not its shortest


def test_tidy_up_survives_a_cycle(entries):
    definition, a = graph.add_node(graph.empty_definition(), entries["manual_trigger"], (0, 0))
    definition, b = graph.add_node(definition, entries["set"], (0, 0))
    definition, c = graph.add_node(definition, entries["set"], (0, 0))
    for source, target in ((a, b), (b, c), (c, b)):
        definition = graph.connect(definition, source["id"], "main", target["id"], "main")
    assert len(graph.tidy(definition)["nodes"]) == 3
