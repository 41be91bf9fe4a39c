import pytest

from nodes.builtin.aggregate import Aggregate
from nodes.sdk import NodeUserError
from nodes.sdk.testing import run_node

ITEMS = [{"json": {"email": "a@x", "tags": ["t"]}}, {"json": {"email": "b@x"}}, {"json": {"name": "c"}}]


async def test_individual_fields_collect_values_into_lists():
    params = {"fields": [{"field": "email", "output_field": "emails"}, {"field": "tags"}]}
    out = await run_node(Aggregate, ITEMS, params=params)
    assert out["main"] == [{"json": {"emails": ["a@x", "b@x"], "tags": [["t"]]}}]


async def test_keep_missing_puts_null_for_items_without_the_field():
    out = await run_node(Aggregate, ITEMS, params={"fields": [{"field": "email"}], "keep_missing": True})
    assert out["main"][0]["json"]["email"] == ["a@x", "b@x", None]


async def test_all_items_into_one_field():
    out = await run_node(Aggregate, ITEMS, params={"mode": "all_items", "output_field": "rows"})
    assert out["main"] == [{"json": {"rows": [i["json"] for i in ITEMS]}}]


async def test_no_items_give_one_item_with_empty_lists():
    assert (await run_node(Aggregate, [], params={"fields": [{"field": "x"}]}))["main"] == [{"json": {"x": []}}]


async def test_individual_mode_needs_fields():
    with pytest.raises(NodeUserError, match="needs at least one entry in fields"):
        await run_node(Aggregate, ITEMS, params={})
