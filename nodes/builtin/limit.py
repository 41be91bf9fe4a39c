"""The Limit node: keeps the first or last N items."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from nodes.sdk import Node, NodeParameters


class LimitParameters(NodeParameters):
    max_items: int = Field(1, ge=1, description="How many items to keep at most")
    keep: Literal["first", "last"] = Field("first", description="Keep the first items or the last ones")


class Limit(Node):
    type = "limit"
    display_name = "Limit"
    group = "data"
    side_effects = False
    icon = "list-end"
    description = "Keeps only the first (or last) N items."
    Parameters = LimitParameters

    async def execute(self, ctx, items):
        params = ctx.params(0)
        return items[: params.max_items] if params.keep == "first" else items[-params.max_items :]
