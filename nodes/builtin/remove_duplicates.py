"""The Remove Duplicates node: keeps the first of items that are alike."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from nodes.builtin._fields import canonical, get_field
from nodes.sdk import Node, NodeParameters, show_if


class RemoveDuplicatesParameters(NodeParameters):
    compare: Literal["all_fields", "selected_fields"] = Field(
        "all_fields", description="Items are alike when all their fields are equal, or only the chosen ones"
    )
    fields: list[str] = Field(default_factory=list, description="selected_fields: the fields to compare",
                              json_schema_extra=show_if(compare=["selected_fields"]))

    @model_validator(mode="after")
    def _fields_for_selected(self) -> RemoveDuplicatesParameters:
        if self.compare == "selected_fields" and not self.fields:
            raise ValueError("compare 'selected_fields' needs at least one field name in fields")
        return self


class RemoveDuplicates(Node):
    type = "remove_duplicates"
    display_name = "Remove Duplicates"
    group = "data"
    side_effects = False
    icon = "copy-minus"
    description = "Drops items equal to an earlier item (in all fields or the chosen ones)."
    Parameters = RemoveDuplicatesParameters

    async def execute(self, ctx, items):
        params = ctx.params(0)
        seen: set[str] = set()
        kept = []
        for item in items:
            data = item.get("json", {})
            key = canonical(data if params.compare == "all_fields" else [get_field(data, f) for f in params.fields])
            if key not in seen:
                seen.add(key)
                kept.append(item)
        return kept
