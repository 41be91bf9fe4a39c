"""Conditions shared by the If, Filter and Switch nodes.

A condition compares ``left`` with ``right`` (both usually expressions such as
``{{ $json.status }}``, which the engine evaluates before the node runs). Values are
compared the way a person filling a form expects: ``5`` equals ``"5"``, ``true``
equals ``"true"``, numeric text is ordered as a number, ISO date texts compare with
datetimes. Anything that cannot be compared (``gt`` between an object and a number)
is a user error naming both values.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from nodes.sdk import NodeUserError

Operation = Literal[
    "equals", "not_equals", "gt", "gte", "lt", "lte",
    "contains", "not_contains", "starts_with", "ends_with", "regex",
    "exists", "not_exists", "is_empty", "is_not_empty",
]
Combinator = Literal["and", "or"]
UNARY_OPERATIONS = frozenset({"exists", "not_exists", "is_empty", "is_not_empty"})


class Condition(BaseModel):
    """One comparison: ``left <operation> right``."""

    model_config = ConfigDict(extra="forbid")

    left: Any = Field(None, description="The value to test, usually an expression: {{ $json.status }}")
    operation: Operation = Field("equals", description="How to compare left with right")
    right: Any = Field(None, description="The value to compare with (ignored by exists / is_empty checks)")
    ignore_case: bool = Field(False, description="Compare texts without regard to upper/lower case")


class ConditionError(ValueError):
    pass


def check_conditions(conditions: list[Condition], combinator: Combinator, item_index: int) -> bool:
    """True if the conditions hold (all for ``and``, any for ``or``; no conditions: True)."""
    if not conditions:
        return True
    try:
        results = (holds(condition) for condition in conditions)
        return all(results) if combinator == "and" else any(results)
    except ConditionError as exc:
        raise NodeUserError(f"item {item_index}: {exc}", item_index=item_index) from None


def holds(condition: Condition) -> bool:
    left, right, fold = condition.left, condition.right, condition.ignore_case
    match condition.operation:
        case "equals":
            return _equals(left, right, fold)
        case "not_equals":
            return not _equals(left, right, fold)
        case "gt" | "gte" | "lt" | "lte" as op:
            return _ordered(op, left, right, fold)
        case "contains":
            return _contains(left, right, fold)
        case "not_contains":
            return not _contains(left, right, fold)
        case "starts_with":
            return left is not None and _text(left, fold).startswith(_text(right, fold))
        case "ends_with":
            return left is not None and _text(left, fold).endswith(_text(right, fold))
        case "regex":
            return left is not None and _regex(right, fold).search(_text(left, False)) is not None
        case "exists":
            return left is not None
        case "not_exists":
            return left is None
        case "is_empty":
            return _is_empty(left)
        case "is_not_empty":
            return not _is_empty(left)
    raise ConditionError(f"unknown operation {condition.operation!r}")  # pragma: no cover


def _equals(left: Any, right: Any, fold: bool) -> bool:
    if isinstance(left, bool) or isinstance(right, bool):
        return _boolean_text(left) == _boolean_text(right)
    numbers = _number(left), _number(right)
    if None not in numbers:
        return numbers[0] == numbers[1]
    if isinstance(left, datetime) or isinstance(right, datetime):
        dates = _datetime(left), _datetime(right)
        return None not in dates and dates[0] == dates[1]
    if fold and isinstance(left, str) and isinstance(right, str):
        return left.casefold() == right.casefold()
    return left == right


def _ordered(op: str, left: Any, right: Any, fold: bool) -> bool:
    a, b = _comparable(left, right, fold, op)
    if op == "gt":
        return a > b
    if op == "gte":
        return a >= b
    if op == "lt":
        return a < b
    return a <= b


def _comparable(left: Any, right: Any, fold: bool, op: str) -> tuple[Any, Any]:
    numbers = _number(left), _number(right)
    if None not in numbers:
        return numbers
    if isinstance(left, datetime) or isinstance(right, datetime):
        dates = _datetime(left), _datetime(right)
        if None not in dates:
            return dates
    if isinstance(left, str) and isinstance(right, str):
        return (left.casefold(), right.casefold()) if fold else (left, right)
    raise ConditionError(
        f"cannot compare {_show(left)} with {_show(right)} using {op!r}; "
        "both sides must be numbers, dates or texts"
    )


def _contains(left: Any, right: Any, fold: bool) -> bool:
    if left is None:
        return False
    if isinstance(left, str):
        return _text(right, fold) in _text(left, fold)
    if isinstance(left, list):
        return any(_equals(element, right, fold) for element in left)
    if isinstance(left, dict):
        return str(right) in left
    raise ConditionError(f"'contains' needs a text, list or object on the left, got {_show(left)}")


def _regex(pattern: Any, fold: bool) -> re.Pattern:
    try:
        return re.compile(str(pattern), re.IGNORECASE if fold else 0)
    except re.error as exc:
        raise ConditionError(f"invalid regular expression {str(pattern)!r}: {exc}") from None


def _is_empty(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, str):
        return value.strip() == ""
    if isinstance(value, (list, dict)):
        return len(value) == 0
    return False


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return value
    if isinstance(value, str):
        try:
            return float(value.strip())
        except ValueError:
            return None
    return None


def _datetime(value: Any) -> datetime | None:
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.strip())
        except ValueError:
            return None
    if not isinstance(value, datetime):
        return None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _boolean_text(value: Any) -> Any:
    if isinstance(value, bool):
        return "true" if value else "false"
    return value.strip().lower() if isinstance(value, str) else value


def _text(value: Any, fold: bool) -> str:
    text = "" if value is None else str(value)
    return text.casefold() if fold else text


def _show(value: Any) -> str:
    text = repr(value)
    return (text[:57] + "...") if len(text) > 60 else text
