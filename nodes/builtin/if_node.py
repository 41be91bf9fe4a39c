"""The If node: sends each item to ``true`` or ``false``."""

from __future__ import annotations

from pydantic import Field

from nodes.builtin._conditions import Combinator, Condition, check_conditions
from nodes.sdk import Node, NodeParameters


class IfParameters(NodeParameters):
    conditions: list[Condition] = Field(
        default_factory=list, description="Checks made on every item; with none, every item is true"
    )
    combinator: Combinator = Field("and", description="and: all conditions must hold; or: any one")


class If(Node):
    type = "if"
    display_name = "If"
    group = "flow"
    side_effects = False
    icon = "split"
    description = "Routes each item to 'true' or 'false' depending on conditions."
    outputs = ("true", "false")
    Parameters = IfParameters

    async def execute(self, ctx, items):
        routed = {"true": [], "false": []}
        for index, item in enumerate(items):
            params = ctx.params(index)
            passed = check_conditions(params.conditions, params.combinator, index)
            routed["true" if passed else "false"].append(item)
        return routed
