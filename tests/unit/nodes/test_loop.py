import pytest
from pydantic import ValidationError

from nodes.builtin.loop import Loop, LoopParameters
from nodes.sdk.testing import run_node


async def test_a_single_call_sends_its_items_to_loop():
    items = [{"json": {"i": 1}}, {"json": {"i": 2}}]
    assert await run_node(Loop, items, params={"batch_size": 2}) == {"loop": items, "done": []}


def test_batch_size_must_be_at_least_one():
    with pytest.raises(ValidationError, match="batch_size"):
        LoopParameters(batch_size=0)


def test_ports():
    assert Loop.outputs == ("loop", "done")
