import pytest

from nodes.builtin.filter import Filter
from nodes.sdk import NodeUserError
from nodes.sdk.testing import run_node

ITEMS = [{"json": {"status": s}} for s in ("paid", "open", "paid")]


def status_is(value):
    return lambda i: {"conditions": [{"left": ITEMS[i]["json"]["status"], "operation": "equals", "right": value}]}


async def test_keeps_matching_items_on_its_single_output():
    out = await run_node(Filter, ITEMS, params=status_is("paid"))
    assert out == {"main": [ITEMS[0], ITEMS[2]]}


async def test_no_match_gives_no_items():
    assert (await run_node(Filter, ITEMS, params=status_is("refunded")))["main"] == []


async def test_bad_comparison_is_a_user_error():
    with pytest.raises(NodeUserError, match="cannot compare"):
        await run_node(Filter, ITEMS[:1], params={"conditions": [{"left": [1], "operation": "lt", "right": 2}]})
