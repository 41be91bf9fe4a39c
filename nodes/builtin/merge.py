"""The Merge node: joins the items of two inputs into one list."""

from __future__ import annotations

from collections import defaultdict
from typing import Literal

from pydantic import Field, model_validator

from nodes.builtin._fields import canonical, get_field
from nodes.sdk import Item, Node, NodeParameters, show_if


class MergeParameters(NodeParameters):
    mode: Literal["append", "combine_by_key", "combine_by_position", "wait_all"] = Field(
        "append",
        description="append: input1's items then input2's; combine_by_key: join items whose key fields "
        "match; combine_by_position: join the 1st with the 1st, 2nd with 2nd...; wait_all: like append, "
        "used as a barrier that waits for both branches",
    )
    key1: str = Field("", description="combine_by_key: field of input1 items to match on, e.g. 'id'",
                      json_schema_extra=show_if(mode=["combine_by_key"]))
    key2: str = Field("", description="combine_by_key: field of input2 items to match on, e.g. 'user_id'",
                      json_schema_extra=show_if(mode=["combine_by_key"]))
    join: Literal["inner", "left", "outer"] = Field(
        "inner",
        description="combine_by_key: inner keeps matches only; left keeps every input1 item; "
        "outer keeps every item of both inputs", json_schema_extra=show_if(mode=["combine_by_key"]))
    include_unpaired: bool = Field(
        False, description="combine_by_position: keep the extra items of the longer input",
        json_schema_extra=show_if(mode=["combine_by_position"]))

    @model_validator(mode="after")
    def _keys_for_key_mode(self) -> MergeParameters:
        if self.mode == "combine_by_key" and not (self.key1 and self.key2):
            raise ValueError("mode 'combine_by_key' needs key1 and key2: the fields to match on in each input")
        return self


class Merge(Node):
    """Runs once both inputs have arrived (the engine waits for every connected input).

    Combined items take their fields from input1 and then input2, so input2 wins on clashes.
    Keys match when they are equal JSON values (``1`` and ``"1"`` differ); a missing key never matches.
    """

    type = "merge"
    display_name = "Merge"
    group = "flow"
    side_effects = False
    icon = "merge"
    description = "Combines the items of two branches: append, join by key or by position."
    inputs = ("input1", "input2")
    Parameters = MergeParameters

    async def execute(self, ctx, items):
        first, second = ctx.inputs.get("input1", []), ctx.inputs.get("input2", [])
        params = ctx.params(0)
        if params.mode == "combine_by_key":
            return _by_key(first, second, params)
        if params.mode == "combine_by_position":
            return _by_position(first, second, params.include_unpaired)
        return [*first, *second]


def _combine(left: Item | None, right: Item | None) -> Item:
    parts = [item for item in (left, right) if item is not None]
    merged: Item = {"json": {key: value for item in parts for key, value in item.get("json", {}).items()}}
    binary = {name: ref for item in parts for name, ref in (item.get("binary") or {}).items()}
    if binary:
        merged["binary"] = binary
    return merged


def _by_position(first: list[Item], second: list[Item], include_unpaired: bool) -> list[Item]:
    paired = [_combine(a, b) for a, b in zip(first, second, strict=False)]
    if include_unpaired:
        shorter = min(len(first), len(second))
        paired += [_combine(item, None) for item in (first[shorter:] or second[shorter:])]
    return paired


def _by_key(first: list[Item], second: list[Item], params: MergeParameters) -> list[Item]:
    index = defaultdict(list)
    for position, item in enumerate(second):
        key = _key(item, params.key2)
        if key is not None:
            index[key].append(position)
    used: set[int] = set()
    out: list[Item] = []
    for item in first:
        matches = index.get(_key(item, params.key1), [])
        used.update(matches)
        out += [_combine(item, second[position]) for position in matches]
        if not matches and params.join in ("left", "outer"):
            out.append(_combine(item, None))
    if params.join == "outer":
        out += [_combine(None, item) for position, item in enumerate(second) if position not in used]
    return out


def _key(item: Item, field: str) -> str | None:
    value = get_field(item.get("json", {}), field)
    return None if value is None else canonical(value)
