from datetime import UTC, datetime

import pytest

from nodes.builtin.set import Set
from nodes.sdk import NodeUserError
from nodes.sdk.testing import run_node


async def test_adds_fields_and_keeps_the_others():
    out = await run_node(Set, [{"json": {"a": 1}}], params={"fields": [{"name": "b", "value": "x"}]})
    assert out["main"] == [{"json": {"a": 1, "b": "x"}}]


async def test_keep_only_set_drops_other_fields_but_keeps_binary():
    items = [{"json": {"a": 1, "b": 2}, "binary": {"file": {"id": "f1"}}}]
    out = await run_node(Set, items, params={"fields": [{"name": "c", "value": 3}], "keep_only_set": True})
    assert out["main"] == [{"json": {"c": 3}, "binary": {"file": {"id": "f1"}}}]


async def test_dotted_names_make_nested_objects_without_touching_the_input():
    items = [{"json": {"address": {"street": "Main"}}}]
    out = await run_node(Set, items, params={"fields": [{"name": "address.city", "value": "Oslo"}]})
    assert out["main"][0]["json"] == {"address": {"street": "Main", "city": "Oslo"}}
    assert items[0]["json"] == {"address": {"street": "Main"}}


async def test_each_item_gets_its_own_evaluated_parameters():
    items = [{"json": {"n": 1}}, {"json": {"n": 2}}]
    params = [{"fields": [{"name": "double", "value": item["json"]["n"] * 2}]} for item in items]
    out = await run_node(Set, items, params=params)
    assert [i["json"]["double"] for i in out["main"]] == [2, 4]


@pytest.mark.parametrize(("value", "type_", "expected"), [
    ("42", "number", 42), ("4.5", "number", 4.5), ("7", "integer", 7), ("yes", "boolean", True),
    (0, "boolean", False), (12, "string", "12"), ('{"a": 1}', "object", {"a": 1}), ("[1, 2]", "array", [1, 2]),
    ({"a": 1}, "string", '{"a": 1}'), (None, "number", None),
])
async def test_type_conversion(value, type_, expected):
    out = await run_node(Set, [{"json": {}}], params={"fields": [{"name": "v", "value": value, "type": type_}]})
    assert out["main"][0]["json"]["v"] == expected


async def test_a_value_that_does_not_convert_names_item_and_field():
    items = [{"json": {}}, {"json": {}}]
    params = [{"fields": [{"name": "n", "value": v, "type": "number"}]} for v in ("1", "abc")]
    with pytest.raises(NodeUserError, match='item 1, field \'n\': "abc" is not a number') as info:
        await run_node(Set, items, params=params)
    assert info.value.item_index == 1


@pytest.mark.parametrize(("value", "type_"), [
    ("nan", "number"), ("inf", "number"), ("-Infinity", "number"), ("x", "number"), ("xxxxxxx", "integer"),
    ("4.5", "integer"), (True, "number"), ([1], "number"),
])
async def test_a_field_declared_as_a_number_fails_loudly_on_text(value, type_):
    params = {"fields": [{"name": "total", "value": value, "type": type_}]}
    with pytest.raises(NodeUserError, match="item 0, field 'total': .* is not a"):
        await run_node(Set, [{"json": {}}], params=params)


async def test_writing_below_a_scalar_is_a_user_error():
    with pytest.raises(NodeUserError, match="'a' holds a int"):
        await run_node(Set, [{"json": {"a": 1}}], params={"fields": [{"name": "a.b", "value": 2}]})


async def test_datetimes_from_expressions_become_iso_text():
    moment = datetime(2026, 1, 15, 12, tzinfo=UTC)
    out = await run_node(Set, [{"json": {}}], params={"fields": [{"name": "at", "value": moment}]})
    assert out["main"][0]["json"]["at"] == "2026-01-15T12:00:00+00:00"
