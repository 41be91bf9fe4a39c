import pytest

from nodes.builtin.stop_and_error import StopAndError
from nodes.sdk import NodeUserError
from nodes.sdk.testing import run_node


async def test_fails_with_the_message_and_is_not_retryable():
    with pytest.raises(NodeUserError, match="order 7 has no customer") as info:
        await run_node(StopAndError, [{"json": {}}], params={"message": "order 7 has no customer"})
    assert info.value.retryable is False


async def test_has_a_default_message():
    with pytest.raises(NodeUserError, match="Stop and Error"):
        await run_node(StopAndError, [{"json": {}}], params={})
