"""Parameter forms from the node catalog's JSON schemas, and what typed text becomes."""

import pytest

from backend.node_registry.service import catalog
from ui.editor import forms


@pytest.fixture(scope="module")
def schemas() -> dict[str, dict]:
    return {e["type"]: e["parameters_schema"] for e in catalog() if e["latest"]}


def _by_key(fields):
    return {f.key: f for f in fields}


def test_each_schema_type_gets_its_input(schemas):
    webhook = _by_key(forms.fields(schemas["webhook"], {"path": "orders"}))
    assert webhook["path"].kind == "string" and webhook["path"].required and webhook["path"].value == "orders"
    assert webhook["method"].kind == "enum" and webhook["method"].value == "POST"
    assert "GET" in webhook["method"].options
    assert webhook["timestamp_tolerance_s"].kind == "number" and webhook["timestamp_tolerance_s"].value == "300"
    http = _by_key(forms.fields(schemas["http_request"], {"headers": {"A": "b"}}))
    assert http["headers"].kind == "json" and '"A": "b"' in http["headers"].value
    assert http["follow_redirects"].kind == "boolean"
    assert http["body"].kind == "any"
    assert _by_key(forms.fields(schemas["code"], {}))["code"].kind == "code"


def test_lists_of_objects_are_collections_with_one_row_per_item(schemas):
    values = {"conditions": [{"left": "{{ $json.n }}", "operation": "gt", "right": 10}]}
    conditions = _by_key(forms.fields(schemas["if"], values))["conditions"]
    assert conditions.kind == "collection" and conditions.item_label == "condition"
    row = {sub.key: sub for sub in conditions.rows[0]}
    assert row["left"].value == "{{ $json.n }}" and row["right"].value == "10"
    assert row["operation"].kind == "enum" and row["operation"].value == "gt"
    set_row = {s.key: s for s in _by_key(forms.fields(schemas["set"], {"fields": [{"name": "a"}]}))["fields"].rows[0]}
    assert set_row["type"].options[0] == forms.NONE_OPTION and set_row["type"].value == forms.NONE_OPTION
    assert forms.new_item(forms.item_schema_of(schemas["if"], "conditions")) == {
        "operation": "equals", "ignore_case": False}


def test_typed_text_becomes_the_stored_value(schemas):
    webhook, http = schemas["webhook"], schemas["http_request"]
    props = webhook["properties"]
    assert forms.coerce(props["timestamp_tolerance_s"], webhook, "60") == 60
    assert forms.coerce(props["timestamp_tolerance_s"], webhook, "{{ $vars.tolerance }}") == "{{ $vars.tolerance }}"
    assert forms.coerce(props["path"], webhook, "") is forms.REMOVE
    assert forms.coerce(http["properties"]["headers"], http, '{"X": "1"}') == {"X": "1"}
    with pytest.raises(ValueError, match="not valid JSON"):
        forms.coerce(http["properties"]["headers"], http, '{"X": ')
    body = http["properties"]["body"]
    assert forms.coerce(body, http, "42") == 42
    assert forms.coerce(body, http, "hello") == "hello"
    assert forms.coerce(body, http, "{{ $json.n * 2 }}") == "{{ $json.n * 2 }}"


def test_unparsable_json_is_kept_as_a_draft_with_its_error(schemas):
    fields = _by_key(forms.fields(schemas["http_request"], {}, {"headers": ("{oops", "not valid JSON")}))
    assert fields["headers"].value == "{oops" and fields["headers"].error == "not valid JSON"


def test_fields_appear_only_when_their_show_if_holds_and_enums_show_labels():
    from backend.node_registry.service import catalog

    schema = next(e for e in catalog() if e["type"] == "webhook" and e["latest"])["parameters_schema"]
    visible = {f.key for f in forms.fields(schema, {"path": "p"}) if f.visible}
    assert "auth" in visible and not visible & {"header_name", "header_value", "username", "password", "hmac_secret"}
    visible = {f.key for f in forms.fields(schema, {"path": "p", "auth": "basic"}) if f.visible}
    assert {"username", "password"} <= visible and "hmac_secret" not in visible
    respond = next(f for f in forms.fields(schema, {"path": "p"}) if f.key == "respond")
    assert {"value": "last_node", "label": "When the last node finishes"} in respond.choices


def test_every_show_if_names_a_parameter_and_its_values():
    from backend.node_registry.service import catalog

    for entry in catalog():
        schema = entry["parameters_schema"]
        for key, prop in schema.get("properties", {}).items():
            for other, allowed in (forms.resolve(prop, schema).get("show_if") or {}).items():
                target = forms.resolve(schema["properties"].get(other, {}), schema)
                assert target, f"{entry['type']}.{key}: show_if names unknown parameter {other!r}"
                assert set(allowed) <= set(target.get("enum", allowed)), f"{entry['type']}.{key}: {allowed}"


def test_a_drafts_problems_show_on_the_fields_they_name():
    schema = {"type": "object", "properties": {"url": {"type": "string"}, "fields": {"type": "array"},
                                               "method": {"type": "string"}}, "required": ["url"]}
    shown = forms.fields(schema, {"fields": [], "method": "GET"})
    problems = ["parameter 'url' is required", "parameters.fields[0].value: invalid expression '$json.n *': "
                "invalid syntax", "output 'x' does not exist"]
    errors = {f.key: f.error for f in forms.with_problems(shown, problems)}
    assert errors == {"url": "parameter 'url' is required",
                      "fields": "parameters.fields[0].value: invalid expression '$json.n *': invalid syntax",
                      "method": ""}
    typed = [forms.FormField(**{**f.__dict__, "error": "not a number"}) if f.key == "url" else f for f in shown]
    assert {f.key: f.error for f in forms.with_problems(typed, problems)}["url"] == "not a number"  # its own first
    assert forms.with_problems(shown, []) == shown


def _visible(schema: dict, values: dict) -> set[str]:
    return {f.key for f in forms.fields(schema, values) if f.visible}


def test_http_request_body_and_pagination_fields_appear_only_when_they_apply(schemas):
    http = schemas["http_request"]
    plain = _visible(http, {"url": "https://x.io"})
    assert {"method", "url", "body_type", "pagination", "records_field"} <= plain
    assert not plain & {"body", "content_type", "next_url_field", "page_parameter", "page_start", "max_pages"}
    assert {"body"} <= _visible(http, {"body_type": "json"}) and "content_type" not in _visible(http, {"body_type": "json"})
    assert {"body", "content_type"} <= _visible(http, {"body_type": "raw"})
    pages = _visible(http, {"pagination": "page_number"})
    assert {"page_parameter", "page_start", "max_pages"} <= pages and "next_url_field" not in pages


def test_integration_fields_follow_resource_and_operation(schemas):
    pg = schemas["postgres"]
    assert {"query", "query_parameters"} <= _visible(pg, {}) and "table" not in _visible(pg, {})
    insert = _visible(pg, {"operation": "insert"})
    assert {"table", "columns", "schema_name"} <= insert and not insert & {"query", "match_columns", "limit"}
    slack = schemas["slack"]
    assert {"text", "thread_ts"} <= _visible(slack, {})  # message post by default
    assert not {"text", "thread_ts"} & _visible(slack, {"resource": "channel", "operation": "post"})
    assert "user" in _visible(slack, {"resource": "user", "operation": "info"})
    assert "user" not in _visible(slack, {"resource": "channel", "operation": "info"})  # both must hold
    assert "message" not in _visible(schemas["kafka"], {"topic": "t"})
    assert "message" in _visible(schemas["kafka"], {"topic": "t", "send_input_data": False})


def test_a_controlling_value_given_as_an_expression_shows_every_dependent_field(schemas):
    shown = _visible(schemas["postgres"], {"operation": "{{ $json.op }}"})
    assert {"query", "table", "columns", "match_columns", "limit"} <= shown


def test_fields_inside_collection_rows_follow_their_own_rows_values(schemas):
    html = schemas["html"]
    values = {"extract": [{"key": "a", "selector": "a"}, {"key": "b", "selector": "a", "returns": "attribute"}]}
    rows = next(f for f in forms.fields(html, values) if f.key == "extract").rows
    visible = [{sub.key for sub in row if sub.visible} for row in rows]
    assert "attribute" not in visible[0] and "attribute" in visible[1]
    item = forms.item_schema_of(html, "extract")
    assert forms.row_visibility(item, html, {"returns": "attribute"})["attribute"] is True
    assert forms.row_visibility(item, html, None)["attribute"] is False
