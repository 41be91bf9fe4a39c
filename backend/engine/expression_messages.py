"""Errors about the values an expression worked on, worded for the person who wrote it.

"unsupported operand types for *: 'str' and 'int'" is Python talking; a user wants to know
which part of the expression held what, in which item, and what to write instead:
``$json.body.qty`` is the text "x" in item 0; multiplying needs numbers.
"""

from __future__ import annotations

import ast
import json
import re
from datetime import datetime
from typing import Any

from backend.engine.expression_functions import short, to_json, type_name

_DOLLAR = re.compile(r"\bDOLLAR_")
_MAX_SOURCE = 60
_MAX_TEXT = 40

_NEEDS = {
    ast.Sub: "subtracting needs numbers",
    ast.Mult: "multiplying needs numbers",
    ast.Div: "dividing needs numbers",
    ast.FloorDiv: "dividing needs numbers",
    ast.Mod: "% (remainder) needs numbers",
    ast.Pow: "** (power) needs numbers",
}
_NUMBER = (int, float)


def source_of(node: ast.AST) -> str:
    """The user's own text for a part of the expression (``$json.qty``, not ``DOLLAR_json.qty``)."""
    try:
        text = _DOLLAR.sub("$", ast.unparse(node))
    except (ValueError, RecursionError):  # pragma: no cover - validated trees unparse
        return "a value"
    return text if len(text) <= _MAX_SOURCE else text[: _MAX_SOURCE - 3] + "..."


def noun(value: Any) -> str:
    """What a value is, in words: 'the text "x"', 'the number 3', 'missing'."""
    if value is None:
        return "missing"
    if isinstance(value, bool):
        return f"the boolean {'true' if value else 'false'}"
    if isinstance(value, _NUMBER):
        return f"the number {short(value)}"
    if isinstance(value, str):
        shown = value if len(value) <= _MAX_TEXT else value[: _MAX_TEXT - 3] + "..."
        return f"the text {json.dumps(shown, ensure_ascii=False)}"
    if isinstance(value, datetime):
        return f"the date {value.isoformat()}"
    if isinstance(value, (list, tuple)):
        return f"a list of {len(value)} item{'s' if len(value) != 1 else ''} ({_json_short(value)})"
    if isinstance(value, dict):
        return f"an object ({_json_short(value)})"
    return f"a {type_name(value)}"


def _json_short(value: Any) -> str:
    try:
        text = to_json(value)
    except Exception:  # noqa: BLE001 - a description must never fail; fall back to the short form
        text = short(value)
    return text if len(text) <= _MAX_TEXT else text[: _MAX_TEXT - 3] + "..."


def phrase(node: ast.AST, value: Any) -> str:
    """```$json.qty`` is the text "x"``; a literal is just described: ``the text "x"``."""
    if isinstance(node, ast.Constant):
        return noun(value)
    return f"`{source_of(node)}` is {noun(value)}"


def _join(parts: list[str]) -> str:
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]


def _numeric_text(value: Any) -> bool:
    if not isinstance(value, str):
        return False
    try:
        float(value.strip())
    except ValueError:
        return False
    return True


def operand_error(op: type, nodes: tuple, values: tuple, item_index: int) -> str:
    """``left <op> right`` is not defined for these values: which side held what, and what to write."""
    if op is ast.Add:
        if any(isinstance(v, str) for v in values):
            bad = [0, 1]  # text + something else: both sides tell what went wrong
            advice = "+ joins two texts or adds two numbers"
            if any(_is_number(v) for v in values):
                advice += ": write str(...) around the number to join it as text, or float(...) around the text to add"
        else:
            bad = [i for i, v in enumerate(values) if not _is_number(v)]
            advice = "+ adds two numbers or joins two texts or two lists"
    else:
        bad = [i for i, v in enumerate(values) if not _is_number(v)]
        advice = _NEEDS[op]
        literal_text = any(isinstance(v, str) and isinstance(n, ast.Constant)
                           for v, n in zip(values, nodes, strict=True))
        if op is ast.Mult and literal_text:
            advice += "; to repeat a text write text.repeat(n)"
    advice += _numeric_hint([values[i] for i in bad])
    subjects = _join([phrase(nodes[i], values[i]) for i in bad or [0, 1]])
    return f"{subjects} in item {item_index}; {advice}"


def _is_number(value: Any) -> bool:
    return isinstance(value, _NUMBER) and not isinstance(value, bool)


def _numeric_hint(values: list) -> str:
    if any(_numeric_text(v) for v in values):
        return "; float(...) or int(...) turns a text like \"5\" into a number"
    return ""


def zero_division(node: ast.AST, item_index: int) -> str:
    return f"{phrase(node, 0)} in item {item_index}; dividing by zero has no result"


def compare_error(symbol: str, nodes: tuple, values: tuple, item_index: int) -> str:
    subjects = _join([phrase(n, v) for n, v in zip(nodes, values, strict=True)])
    if any(v is None for v in values):
        advice = f"{symbol} needs a value on both sides; check the field name or give a default: ($json.x or 0)"
    else:
        advice = f"{symbol} compares two numbers, two texts, two dates or two lists" + _numeric_hint(list(values))
    return f"{subjects} in item {item_index}; {advice}"


def unary_error(symbol: str, node: ast.AST, value: Any, item_index: int) -> str:
    return f"{phrase(node, value)} in item {item_index}; {symbol} needs a number"


def missing_parent(node: ast.AST, what: str, item_index: int) -> str:
    """Reading ``.field`` or ``[key]`` of a value that is not there."""
    source = source_of(node)
    return (f"`{source}` is missing in item {item_index}, so it has no {what}; "
            f"check the field name in the input, or write ({source} or {{}}){what}")
