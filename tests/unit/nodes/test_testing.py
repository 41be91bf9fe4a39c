"""The public test helpers in nodes.sdk.testing."""

import pytest

from nodes.builtin.set import Set
from nodes.sdk import Node, NodeUserError
from nodes.sdk.testing import FakeContext, run_node


class Mutator(Node):
    type = "mutator"
    display_name = "Mutator"
    side_effects = False

    async def execute(self, ctx, items):
        items[0]["json"]["changed"] = True
        return items


async def test_run_node_catches_a_node_that_changes_its_input():
    with pytest.raises(AssertionError, match="changed its input items"):
        await run_node(Mutator, [{"json": {}}])


async def test_params_are_validated_with_the_parameters_model():
    ctx = FakeContext(Set, {"fields": [{"name": ""}]})
    with pytest.raises(NodeUserError, match="fields.0.name"):
        ctx.params(0)


async def test_params_can_differ_per_item():
    ctx = FakeContext(Set, [{"fields": [{"name": "a", "value": i}]} for i in range(2)])
    assert ctx.params(1).fields[0].value == 1


async def test_unbound_credential_slot_is_a_user_error():
    with pytest.raises(NodeUserError, match="slot 'auth'"):
        await FakeContext(Set).credentials("auth")
