from datetime import UTC, datetime

import pytest

from nodes.builtin._conditions import Condition, holds
from nodes.builtin.if_node import If
from nodes.sdk import NodeUserError
from nodes.sdk.testing import run_node

ITEMS = [{"json": {"n": n}} for n in (1, 5, 10)]


def per_item(*conditions, combinator="and"):
    """Parameters as the engine would evaluate them: left = the item's n."""
    return lambda i: {"combinator": combinator,
                      "conditions": [{**c, "left": ITEMS[i]["json"]["n"]} for c in conditions]}


async def test_routes_items_to_true_and_false():
    out = await run_node(If, ITEMS, params=per_item({"operation": "gte", "right": 5}))
    assert out == {"true": ITEMS[1:], "false": ITEMS[:1]}


async def test_and_or_combinators():
    both = per_item({"operation": "gt", "right": 1}, {"operation": "lt", "right": 10})
    either = per_item({"operation": "lt", "right": 2}, {"operation": "gt", "right": 9}, combinator="or")
    assert (await run_node(If, ITEMS, params=both))["true"] == [ITEMS[1]]
    assert (await run_node(If, ITEMS, params=either))["true"] == [ITEMS[0], ITEMS[2]]


async def test_no_conditions_means_true():
    assert (await run_node(If, ITEMS, params={}))["true"] == ITEMS


async def test_uncomparable_values_are_a_user_error_naming_the_item():
    params = [{"conditions": [{"left": {"a": 1}, "operation": "gt", "right": 1}]}] * 3
    with pytest.raises(NodeUserError, match="item 0: cannot compare") as info:
        await run_node(If, ITEMS, params=params)
    assert info.value.item_index == 0


@pytest.mark.parametrize(("left", "operation", "right", "expected"), [
    (5, "equals", "5", True), ("a", "equals", "A", False), (True, "equals", "true", True),
    (1, "equals", True, False), (None, "equals", None, True), ("x", "not_equals", "y", True),
    ("10", "gt", "9", True), ("b", "gt", "a", True), ("2026-01-02", "gt", "2026-01-01", True),
    (datetime(2026, 1, 2, tzinfo=UTC), "gt", "2026-01-01T00:00:00Z", True), (3, "lte", 3, True),
    ("hello world", "contains", "world", True), ([1, 2, 3], "contains", "2", True),
    ({"k": 1}, "contains", "k", True), (None, "contains", "x", False), ("abc", "not_contains", "z", True),
    ("report.pdf", "ends_with", ".pdf", True), ("report.pdf", "starts_with", "rep", True),
    ("order-123", "regex", r"^order-\d+$", True), ("x", "regex", r"\d", False),
    (0, "exists", None, True), (None, "exists", None, False), (None, "not_exists", None, True),
    ("  ", "is_empty", None, True), ([], "is_empty", None, True), (0, "is_empty", None, False),
    ({"a": 1}, "is_not_empty", None, True),
])
def test_operations(left, operation, right, expected):
    assert holds(Condition(left=left, operation=operation, right=right)) is expected


def test_ignore_case():
    assert holds(Condition(left="Hello", operation="equals", right="hello", ignore_case=True))
    assert holds(Condition(left="Hello", operation="contains", right="ELL", ignore_case=True))
    assert holds(Condition(left="Hello", operation="regex", right="^h", ignore_case=True))


async def test_invalid_regex_is_a_user_error():
    with pytest.raises(NodeUserError, match="invalid regular expression"):
        await run_node(If, [{"json": {}}], params={"conditions": [{"left": "a", "operation": "regex", "right": "("}]})


async def test_unknown_operation_is_refused_by_the_parameters():
    with pytest.raises(NodeUserError, match="operation"):
        await run_node(If, [{"json": {}}], params={"conditions": [{"left": 1, "operation": "about", "right": 1}]})
