"""The Split Out node: one item per element of a list field."""

from __future__ import annotations

import copy

from pydantic import Field

from nodes.builtin._fields import delete_field, get_field, has_field, new_item, set_field
from nodes.sdk import Node, NodeParameters, NodeUserError


class SplitOutParameters(NodeParameters):
    field: str = Field(min_length=1, description="The list field to split, e.g. 'order.lines'")
    destination_field: str = Field(
        "", description="Field each element is written to; empty: the last part of the field's name"
    )
    include_other_fields: bool = Field(False, description="Copy the item's other fields onto every new item")


class SplitOut(Node):
    """A value that is not a list becomes one item; an item without the field is an error."""

    type = "split_out"
    display_name = "Split Out"
    group = "data"
    side_effects = False
    icon = "ungroup"
    description = "Turns a list inside each item into one item per element."
    Parameters = SplitOutParameters
    batchable = True  # each item splits on its own: runs batch by batch on a large input

    async def execute(self, ctx, items):
        out = []
        for index, item in enumerate(items):
            out += _split(ctx.params(index), item, index)
        return out


def _split(params: SplitOutParameters, item: dict, index: int) -> list[dict]:
    data = item.get("json", {})
    if not has_field(data, params.field):
        raise NodeUserError(
            f"item {index} has no field {params.field!r}; check the name (dots reach nested fields)",
            item_index=index,
        )
    elements = get_field(data, params.field)
    elements = elements if isinstance(elements, list) else [elements]
    destination = params.destination_field or params.field.split(".")[-1]
    base = {}
    if params.include_other_fields:
        base = copy.deepcopy(data)
        delete_field(base, params.field)
    split = []
    for element in elements:
        new = copy.deepcopy(base)
        set_field(new, destination, copy.deepcopy(element))
        split.append(new_item(new, item))
    return split
