import pytest

from nodes.builtin.sort import Sort
from nodes.sdk import NodeUserError
from nodes.sdk.testing import run_node

PEOPLE = [{"json": p} for p in (
    {"name": "Cy", "age": 30}, {"name": "Ada", "age": 25}, {"name": "Bob"}, {"name": "Dee", "age": 30},
    {"name": "Eve", "age": None},
)]


def names(out):
    return [i["json"]["name"] for i in out["main"]]


async def test_ascending_is_stable_and_puts_missing_last():
    out = await run_node(Sort, PEOPLE, params={"fields": [{"field": "age"}]})
    assert names(out) == ["Ada", "Cy", "Dee", "Bob", "Eve"]


async def test_descending_keeps_missing_last_and_ties_in_order():
    out = await run_node(Sort, PEOPLE, params={"fields": [{"field": "age", "order": "desc"}]})
    assert names(out) == ["Cy", "Dee", "Ada", "Bob", "Eve"]


async def test_second_field_breaks_ties():
    fields = [{"field": "age", "order": "desc"}, {"field": "name", "order": "desc"}]
    assert names(await run_node(Sort, PEOPLE, params={"fields": fields}))[:2] == ["Dee", "Cy"]


async def test_nested_fields_and_mixed_types_do_not_crash():
    items = [{"json": {"v": {"x": "b"}}}, {"json": {"v": {"x": 2}}}, {"json": {"v": {"x": "a"}}}]
    out = await run_node(Sort, items, params={"fields": [{"field": "v.x"}]})
    assert [i["json"]["v"]["x"] for i in out["main"]] == [2, "a", "b"]


async def test_needs_a_field():
    with pytest.raises(NodeUserError, match="fields"):
        await run_node(Sort, PEOPLE, params={"fields": []})
