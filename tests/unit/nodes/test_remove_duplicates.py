import pytest

from nodes.builtin.remove_duplicates import RemoveDuplicates
from nodes.sdk import NodeUserError
from nodes.sdk.testing import run_node

ITEMS = [{"json": {"email": "a@x", "n": 1}}, {"json": {"n": 1, "email": "a@x"}},
         {"json": {"email": "a@x", "n": 2}}, {"json": {"email": "b@x", "n": 1}}]


async def test_all_fields_ignores_key_order_and_keeps_the_first():
    out = await run_node(RemoveDuplicates, ITEMS, params={})
    assert out["main"] == [ITEMS[0], ITEMS[2], ITEMS[3]]


async def test_selected_fields():
    out = await run_node(RemoveDuplicates, ITEMS, params={"compare": "selected_fields", "fields": ["email"]})
    assert out["main"] == [ITEMS[0], ITEMS[3]]


async def test_selected_fields_needs_names():
    with pytest.raises(NodeUserError, match="needs at least one field"):
        await run_node(RemoveDuplicates, ITEMS, params={"compare": "selected_fields"})
