"""n8n parameter values -> LinkFlow parameter values.

An n8n value is an expression when it is a string starting with ``=``: ``={{ $json.total }}`` or
``=Order {{ $json.id }} shipped``. Anything else is a literal, and a literal that happens to hold
``{{`` is escaped so that LinkFlow does not read it as an expression.

    convert_text("={{ $json.name.toUpperCase() }}")  -> "{{ $json.name.upper() }}"
    convert_text("=Hi {{ `${$json.first} ${$json.last}` }}") -> "Hi {{ $json.first }} {{ $json.last }}"
"""

from __future__ import annotations

from typing import Any

from backend.engine.expressions import ExpressionError, check
from backend.workflows.n8n.js_lexer import Unsupported
from backend.workflows.n8n.js_translate import template_parts, translate

_ESCAPED_OPEN = '{{ "{{" }}'


def escape_literal(text: str) -> str:
    return text.replace("{{", _ESCAPED_OPEN) if "{{" in text else text


def _closing(text: str, start: int) -> int:
    """Index of the ``}}`` that closes the ``{{`` at ``start``, skipping strings and inner braces."""
    depth, pos, quote = 0, start + 2, ""
    while pos < len(text):
        char = text[pos]
        if quote:
            if char == "\\":
                pos += 1
            elif char == quote:
                quote = ""
        elif char in "'\"`":
            quote = char
        elif char == "{":
            depth += 1
        elif char == "}":
            if depth == 0 and text.startswith("}}", pos):
                return pos
            depth = max(depth - 1, 0)
        pos += 1
    raise Unsupported("'{{' is never closed with '}}'")


def split_template(text: str) -> list[tuple[bool, str]]:
    parts, pos = [], 0
    while (start := text.find("{{", pos)) >= 0:
        end = _closing(text, start)
        parts += [(False, text[pos:start]), (True, text[start + 2 : end])]
        pos = end + 2
    parts.append((False, text[pos:]))
    return [part for part in parts if part[0] or part[1]]


def _expression(source: str) -> list[str]:
    """One ``{{ }}`` as LinkFlow template pieces; a lone template literal becomes text and expressions."""
    parts = template_parts(source)
    if parts is None:
        return [_checked(translate(source))]
    if [is_expression for is_expression, text in parts if is_expression or text] == [True]:
        return [_checked(f"str({next(text for is_expression, text in parts if is_expression)})")]
    return [_checked(text) if is_expression else escape_literal(text) for is_expression, text in parts]


def _checked(expr: str) -> str:
    try:
        check(expr)
    except ExpressionError as exc:
        raise Unsupported(f"converted to {expr!r}, which LinkFlow refuses: {exc}") from None
    return "{{ " + expr + " }}"


def convert_text(value: str) -> str:
    """A string parameter; raises ``Unsupported`` (or ``Refused``) for an expression it cannot convert."""
    if not value.startswith("="):
        return escape_literal(value)
    out = []
    for is_expression, text in split_template(value[1:]):
        out += _expression(text) if is_expression else [escape_literal(text)]
    return "".join(out)


def convert_value(value: Any) -> Any:
    """Any parameter value: strings are converted, lists and objects element by element."""
    if isinstance(value, str):
        return convert_text(value)
    if isinstance(value, list):
        return [convert_value(v) for v in value]
    if isinstance(value, dict):
        return {k: convert_value(v) for k, v in value.items()}
    return value
