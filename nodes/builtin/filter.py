"""The Filter node: keeps the items that meet the conditions."""

from __future__ import annotations

from pydantic import Field

from nodes.builtin._conditions import Combinator, Condition, check_conditions
from nodes.sdk import Node, NodeParameters


class FilterParameters(NodeParameters):
    conditions: list[Condition] = Field(
        default_factory=list, description="Checks made on every item; with none, every item is kept"
    )
    combinator: Combinator = Field("and", description="and: all conditions must hold; or: any one")


class Filter(Node):
    type = "filter"
    display_name = "Filter"
    group = "flow"
    side_effects = False
    icon = "filter"
    description = "Keeps only the items that meet the conditions and drops the rest."
    Parameters = FilterParameters
    batchable = True  # each item is kept or not on its own: runs batch by batch on a large input

    async def execute(self, ctx, items):
        kept = []
        for index, item in enumerate(items):
            params = ctx.params(index)
            if check_conditions(params.conditions, params.combinator, index):
                kept.append(item)
        return kept
