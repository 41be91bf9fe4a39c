"""Checking a node's parameters against its ``Parameters`` model, with and without expressions."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ValidationError

from backend.engine.expression_functions import short
from backend.engine.expressions import has_expression

# Errors that are about which keys exist, not about a value: an expression cannot fix them.
_KEY_ERRORS = frozenset({"missing", "extra_forbidden"})


def format_loc(loc: tuple) -> str:
    """('rules', 0, 'value') -> 'rules[0].value'."""
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def describe_errors(errors: list[dict], *, limit: int = 10) -> list[str]:
    """One line per pydantic error: which parameter, what is wrong, with which value."""
    lines = []
    for error in errors[:limit]:
        where = format_loc(tuple(error["loc"])) or "(all parameters)"
        if error["type"] == "extra_forbidden":
            lines.append(f"parameter {where!r} is not a parameter of this node")
        elif error["type"] == "missing":
            lines.append(f"parameter {where!r} is required")
        else:
            lines.append(f"parameter {where!r}: {error['msg']} (got {_short(error.get('input'))})")
    return lines


def static_problems(model: type[BaseModel], parameters: dict) -> list[str]:
    """Problems visible before the run: errors on values holding ``{{ }}`` wait for run time.

    The model is run on the raw parameters and errors are dropped when the value they are
    about contains an expression (its type is only known once it is evaluated). Missing and
    unknown parameters are always reported: no expression can add or remove a key. This
    never rejects parameters that could be valid at run time; what it lets through is
    checked again, per item, when the node runs.
    """
    try:
        model.model_validate(parameters)
    except ValidationError as exc:
        return describe_errors([e for e in exc.errors() if not _waits_for_expression(parameters, e)])
    return []


def _waits_for_expression(parameters: dict, error: dict) -> bool:
    current: Any = parameters
    for part in error["loc"]:
        if isinstance(current, str):
            return "{{" in current  # the error is about (something inside) this string
        if _has_key(current, part):
            current = current[part]
        else:  # a missing key, or loc goes on into union/validator names
            return error["type"] not in _KEY_ERRORS and has_expression(current)
    return error["type"] not in _KEY_ERRORS and has_expression(current)


def _has_key(container: Any, part: Any) -> bool:
    if isinstance(container, dict):
        return part in container
    return isinstance(container, list) and isinstance(part, int) and 0 <= part < len(container)


def _short(value: Any, limit: int = 60) -> str:
    return short(value, limit)  # datetimes as ISO text: no reprs with class paths in messages
