"""The Sort node: orders items by one or more fields."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from nodes.builtin._fields import canonical, get_field
from nodes.sdk import Node, NodeParameters


class SortKey(BaseModel):
    model_config = ConfigDict(extra="forbid")

    field: str = Field(min_length=1, description="Field to sort by; dots reach nested fields: 'customer.name'")
    order: Literal["asc", "desc"] = Field("asc", description="asc: smallest first; desc: largest first")


class SortParameters(NodeParameters):
    fields: list[SortKey] = Field(min_length=1, description="Sort by the first field, then the next on ties")


class Sort(Node):
    """Stable: items that tie keep their order. Missing and null values go last in either order.

    Ascending puts numbers before texts and texts before other values (desc reverses that);
    numbers written as text sort as texts.
    """

    type = "sort"
    display_name = "Sort"
    group = "data"
    side_effects = False
    icon = "arrow-up-down"
    description = "Orders items by one or more fields."
    Parameters = SortParameters

    async def execute(self, ctx, items):
        ordered = list(items)
        for key in reversed(ctx.params(0).fields):  # least significant key first; each sort is stable
            descending = key.order == "desc"
            ordered.sort(key=lambda item, k=key, d=descending: _sort_key(item, k.field, d), reverse=descending)
        return ordered


def _sort_key(item: dict, field: str, descending: bool) -> tuple:
    value = get_field(item.get("json", {}), field)
    missing = value is None
    # reverse=True flips every component, so the "missing" flag is flipped too to keep them last.
    return (not missing if descending else missing, *_rank(value))


def _rank(value: Any) -> tuple[int, Any]:
    if value is None:
        return (3, 0)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return (0, value)
    if isinstance(value, str):
        return (1, value)
    return (2, canonical(value))
