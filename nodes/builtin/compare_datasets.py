"""The Compare Datasets node: two lists of items matched on a key, sorted into four outputs."""

from __future__ import annotations

from collections import defaultdict, deque

from pydantic import Field

from nodes.builtin._fields import canonical, get_field, new_item
from nodes.sdk import Item, Node, NodeParameters

_MISSING = object()


class CompareDatasetsParameters(NodeParameters):
    key_a: str = Field(min_length=1, description="The field that identifies an item of input A, e.g. 'id'")
    key_b: str = Field("", description="The same for input B; empty: the field named in key_a")
    skip_fields: str = Field("", description="Comma-separated fields not compared, e.g. 'updated_at, etag'")


class CompareDatasets(Node):
    """Items of A and B with equal keys are paired in the order they come (a key that appears more
    often on one side leaves the extra items unpaired). Outputs: ``in_a_only``, ``same`` (the A item),
    ``different`` (``{"key", "different": {field: {"a", "b"}}, "a", "b"}``, keeping A's binary data)
    and ``in_b_only``. Values are compared as JSON text (key order inside objects does not count; the
    number 1 and the text "1" differ); items without the key field are unpaired.
    """

    type = "compare_datasets"
    display_name = "Compare Datasets"
    group = "data"
    side_effects = False
    icon = "git-compare"
    description = "Matches two lists of items on a key: only in A, the same, different, only in B."
    inputs = ("a", "b")
    outputs = ("in_a_only", "same", "different", "in_b_only")
    Parameters = CompareDatasetsParameters

    async def execute(self, ctx, items):
        params = ctx.params(0)
        skip = {name.strip() for name in params.skip_fields.split(",") if name.strip()}
        key_b = params.key_b or params.key_a
        waiting = _by_key(ctx.inputs.get("b", []), key_b)
        out: dict[str, list[Item]] = {port: [] for port in self.outputs}
        for item in ctx.inputs.get("a", []):
            key = get_field(item.get("json", {}), params.key_a, _MISSING)
            partners = waiting.get(canonical(key)) if key is not _MISSING else None
            if not partners:
                out["in_a_only"].append(item)
                continue
            other = partners.popleft()
            changed = _differences(item.get("json", {}), other.get("json", {}), skip | {params.key_a, key_b})
            if changed:
                out["different"].append(new_item({"key": key, "different": changed, "a": item.get("json", {}),
                                                  "b": other.get("json", {})}, item))
            else:
                out["same"].append(item)
        out["in_b_only"] = [item for queue in waiting.values() for item in queue] + _without_key(ctx, key_b)
        return out


def _by_key(items: list[Item], key: str) -> dict[str, deque]:
    grouped: dict[str, deque] = defaultdict(deque)
    for item in items:
        value = get_field(item.get("json", {}), key, _MISSING)
        if value is not _MISSING:
            grouped[canonical(value)].append(item)
    return grouped


def _without_key(ctx, key: str) -> list[Item]:
    return [item for item in ctx.inputs.get("b", []) if get_field(item.get("json", {}), key, _MISSING) is _MISSING]


def _differences(a: dict, b: dict, skip: set[str]) -> dict:
    changed = {}
    for field in dict.fromkeys([*a, *b]):
        if field in skip:
            continue
        left, right = a.get(field), b.get(field)
        if field not in a or field not in b or canonical(left) != canonical(right):
            changed[field] = {"a": left, "b": right}
    return changed
