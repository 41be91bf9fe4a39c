from nodes.builtin.manual_trigger import ManualTrigger
from nodes.sdk.testing import run_node


async def test_passes_the_execution_input_on():
    out = await run_node(ManualTrigger, [{"json": {"a": 1}}])
    assert out == {"main": [{"json": {"a": 1}}]}


async def test_without_input_starts_with_one_empty_item():
    assert await run_node(ManualTrigger, []) == {"main": [{"json": {}}]}
