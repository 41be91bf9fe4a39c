import pytest

from nodes.builtin.limit import Limit
from nodes.sdk import NodeUserError
from nodes.sdk.testing import run_node

ITEMS = [{"json": {"i": i}} for i in range(5)]


async def test_keeps_the_first_items():
    assert (await run_node(Limit, ITEMS, params={"max_items": 2}))["main"] == ITEMS[:2]


async def test_keeps_the_last_items():
    assert (await run_node(Limit, ITEMS, params={"max_items": 2, "keep": "last"}))["main"] == ITEMS[3:]


async def test_fewer_items_than_the_limit_pass_unchanged():
    assert (await run_node(Limit, ITEMS, params={"max_items": 10}))["main"] == ITEMS


async def test_max_items_must_be_positive():
    with pytest.raises(NodeUserError, match="max_items"):
        await run_node(Limit, ITEMS, params={"max_items": 0})
