import pytest

from nodes.builtin.split_out import SplitOut
from nodes.sdk import NodeUserError
from nodes.sdk.testing import run_node

ORDER = {"json": {"id": 7, "lines": [{"sku": "a"}, {"sku": "b"}]}, "binary": {"pdf": {"id": "p"}}}


async def test_one_item_per_element():
    out = await run_node(SplitOut, [ORDER], params={"field": "lines"})
    assert out["main"] == [{"json": {"lines": {"sku": "a"}}, "binary": {"pdf": {"id": "p"}}},
                           {"json": {"lines": {"sku": "b"}}, "binary": {"pdf": {"id": "p"}}}]


async def test_include_other_fields_and_destination():
    params = {"field": "lines", "destination_field": "line", "include_other_fields": True}
    out = await run_node(SplitOut, [ORDER], params=params)
    assert [i["json"] for i in out["main"]] == [{"id": 7, "line": {"sku": "a"}}, {"id": 7, "line": {"sku": "b"}}]


async def test_nested_field_and_scalar_value():
    items = [{"json": {"a": {"tags": ["x", "y"]}}}, {"json": {"a": {"tags": "z"}}}]
    out = await run_node(SplitOut, items, params={"field": "a.tags"})
    assert [i["json"] for i in out["main"]] == [{"tags": "x"}, {"tags": "y"}, {"tags": "z"}]


async def test_empty_list_gives_no_items():
    assert (await run_node(SplitOut, [{"json": {"l": []}}], params={"field": "l"}))["main"] == []


async def test_missing_field_names_the_item():
    with pytest.raises(NodeUserError, match="item 1 has no field 'lines'") as info:
        await run_node(SplitOut, [ORDER, {"json": {}}], params={"field": "lines"})
    assert info.value.item_index == 1
