"""The node details view's panes: schema, table, pages, search, files, and what a dragged field inserts."""

from ui.editor import ndv, preview

ITEMS = [
    {"json": {"customer": {"email": "ada@example.com", "first name": "Ada"}, "lines": [{"sku": "S1"}], "qty": 3},
     "binary": {"invoice": {"id": "f1", "file_name": "inv.pdf", "mime_type": "application/pdf", "size": 2048}}},
    {"json": {"qty": "x", "note": None}},
]


def test_the_schema_lists_every_path_with_type_sample_and_mapping():
    rows = {r["path"]: r for r in ndv.schema_rows(ITEMS, ndv.INPUT)}
    assert rows["customer.email"]["type"] == "string" and rows["customer.email"]["sample"] == "ada@example.com"
    assert rows["customer.email"]["expression"] == "{{ $json.customer.email }}"
    assert rows['customer["first name"]']["expression"] == '{{ $json.customer["first name"] }}'
    assert rows["lines[0].sku"]["expression"] == "{{ $json.lines[0].sku }}"
    assert rows["lines"]["type"] == "array" and rows["lines"]["sample"] == "1 item"
    assert rows["qty"]["type"] == "number"  # the first item seen decides
    assert rows["note"]["type"] == "null"
    assert rows["customer.email"]["indent"] == "14px"


def test_another_nodes_fields_map_through_node():
    assert ndv.mapping("Fetch", ["id"]) == '{{ $node["Fetch"].json.id }}'
    assert ndv.mapping("Fetch", ["a b"]) == '{{ $node["Fetch"].json["a b"] }}'
    assert ndv.mapping(ndv.INPUT, []) == "{{ $json }}"


def test_the_table_has_top_level_columns_and_json_cells():
    columns, rows = ndv.table(ITEMS, ndv.INPUT)
    assert [c["name"] for c in columns] == ["customer", "lines", "qty", "note"]
    assert columns[2]["expression"] == "{{ $json.qty }}"
    assert rows[0][0] == '{"email": "ada@example.com", "first name": "Ada"}'  # JSON, never a Python repr
    assert rows[1] == ["", "", "x", ""]


def test_pages_and_search():
    items = [{"json": {"n": n, "name": f"item {n}"}} for n in range(25)]
    shown, first, total, pages = ndv.page_of(items, "", 2)
    assert (first, total, pages, [i["json"]["n"] for i in shown]) == (21, 25, 3, [20, 21, 22, 23, 24])
    shown, first, total, pages = ndv.page_of(items, "ITEM 1", 0)
    assert total == 11 and pages == 2  # item 1, 10..19
    assert ndv.page_of(items, "nothing like it", 5)[1:] == (0, 0, 1)


def test_files_show_name_type_and_size():
    # a reference without the execution that stored it (pinned by hand) is listed, but cannot be linked
    assert ndv.files(ITEMS, 1) == [{"item": "1", "name": "invoice", "key": "0/invoice", "file_name": "inv.pdf",
                                    "mime_type": "application/pdf", "size": "2.0 KB", "stored": "", "preview": ""}]
    assert ndv.size_text(None) == "size unknown" and ndv.size_text(10) == "10 bytes"


STORED = [{"json": {}}, {"json": {}, "binary": {
    "photo": {"id": "b1", "execution_id": "e1", "file_name": "a.png", "mime_type": "image/png", "size": 5},
    "notes": {"id": "b2", "execution_id": "e1", "file_name": "n.csv", "mime_type": "text/csv", "size": 5},
    "page": {"id": "b3", "execution_id": "e1", "file_name": "p.svg", "mime_type": "image/svg+xml", "size": 5}}}]


def test_stored_files_can_be_viewed_and_downloaded_by_key():
    listed = {f["name"]: f for f in ndv.files(STORED, 11)}
    assert listed["photo"]["key"] == "1/photo" and listed["photo"]["item"] == "12"
    assert (listed["photo"]["stored"], listed["photo"]["preview"]) == ("yes", "image")
    assert listed["notes"]["preview"] == "text"
    assert (listed["page"]["stored"], listed["page"]["preview"]) == ("yes", "")  # SVG: download only, never shown
    assert ndv.file_ref(STORED, "1/photo") == {"id": "b1", "execution_id": "e1", "file_name": "a.png",
                                               "mime_type": "image/png"}


def test_a_file_key_that_points_nowhere_gives_no_reference():
    for key in ("9/photo", "1/missing", "0/photo", "x/photo", "-1/photo", "", "1"):
        assert ndv.file_ref(STORED, key) is None
    assert ndv.file_ref(ITEMS, "0/invoice") is None  # not in storage: no signed link can be asked for


DEFINITION = {
    "nodes": [{"id": "hook", "name": "Hook"}, {"id": "set", "name": "Set"}, {"id": "new", "name": "New"}],
    "connections": [{"from": "hook", "to": "set"}, {"from": "set", "to": "new"}],
}
RUN = {"hook": {"input": None, "output": {"main": [{"json": {"body": {"qty": 2}}}]}},
       "set": {"input": {"main": [{"json": {"body": {"qty": 2}}}]}, "output": {"main": [{"json": {"total": 4}}]}}}


def test_a_node_added_after_a_run_sees_what_its_parent_gave():
    found = ndv.sources(DEFINITION, "new", RUN)
    assert found[ndv.INPUT] == [{"json": {"total": 4}}]
    assert list(found) == [ndv.INPUT, "Set", "Hook"]
    items, _, real = preview.preview_input(DEFINITION, "new", RUN)
    assert real and items == [{"json": {"total": 4}}]


def test_pins_win_over_the_last_run():
    pinned = {**DEFINITION, "pin_data": {"Set": [{"json": {"total": 99}}]}}
    assert ndv.sources(pinned, "new", RUN)[ndv.INPUT] == [{"json": {"total": 99}}]
    assert ndv.sources(DEFINITION, "hook", {})[ndv.INPUT] == []


def test_autocomplete_offers_typed_paths_nodes_vars_functions_and_methods():
    found = ndv.sources(DEFINITION, "new", RUN)
    offered = ndv.completions(found, ["region"])
    assert offered["json"] == {"total": "number"}
    assert offered["nodes"]["Hook"] == {"body": "object", "body.qty": "number"}
    assert offered["vars"] == ["region"] and "resume_url" in offered["execution"]
    assert "date_format" in offered["functions"] and "len" in offered["functions"]
    assert {"toUpperCase", "upper", "includes"} <= set(offered["methods"]["string"])
    assert "toFixed" in offered["methods"]["number"] and "join" in offered["methods"]["array"]
