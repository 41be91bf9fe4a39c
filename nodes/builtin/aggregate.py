"""The Aggregate node: turns many items into one."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from nodes.builtin._fields import FieldPathError, get_field, has_field, set_field
from nodes.sdk import Node, NodeParameters, NodeUserError, show_if


class AggregateField(BaseModel):
    model_config = ConfigDict(extra="forbid")

    field: str = Field(min_length=1, description="Field to collect from every item, e.g. 'email'")
    output_field: str = Field("", description="Where the list goes; empty: the same name as the field")


class AggregateParameters(NodeParameters):
    mode: Literal["individual_fields", "all_items"] = Field(
        "individual_fields",
        description="individual_fields: one list per chosen field; all_items: every item's data in one list",
    )
    fields: list[AggregateField] = Field(default_factory=list, description="individual_fields: what to collect",
                                         json_schema_extra=show_if(mode=["individual_fields"]))
    keep_missing: bool = Field(
        False, description="individual_fields: put null in the list for items without the field",
        json_schema_extra=show_if(mode=["individual_fields"]))
    output_field: str = Field("data", min_length=1, description="all_items: field that holds the list")

    @model_validator(mode="after")
    def _fields_for_individual_mode(self) -> AggregateParameters:
        if self.mode == "individual_fields" and not self.fields:
            raise ValueError("mode 'individual_fields' needs at least one entry in fields (or use mode 'all_items')")
        return self


class Aggregate(Node):
    """Always outputs exactly one item, even for no input (with empty lists)."""

    type = "aggregate"
    display_name = "Aggregate"
    group = "data"
    side_effects = False
    icon = "layers"
    description = "Collects field values (or whole items) of all items into lists on one item."
    Parameters = AggregateParameters

    async def execute(self, ctx, items):
        params = ctx.params(0)
        if params.mode == "all_items":
            return [{"json": {params.output_field: [item.get("json", {}) for item in items]}}]
        data: dict = {}
        for spec in params.fields:
            values = [get_field(item.get("json", {}), spec.field) for item in items
                      if params.keep_missing or has_field(item.get("json", {}), spec.field)]
            try:
                set_field(data, spec.output_field or spec.field, values)
            except FieldPathError as exc:
                raise NodeUserError(str(exc)) from None
        return [{"json": data}]
