from nodes.builtin.noop import NoOp
from nodes.sdk.testing import run_node


async def test_passes_items_on_unchanged():
    items = [{"json": {"a": 1}}, {"json": {"b": 2}, "binary": {"f": {"id": "x"}}}]
    assert (await run_node(NoOp, items))["main"] == items
