"""JavaScript-style method names (n8n habits) work as aliases, and the sandbox stays closed."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from backend.engine.expression_functions import JS_ALIASES, METHOD_NAMES
from backend.engine.expressions import ExpressionContext, ExpressionError, evaluate, render


def ctx(**overrides) -> ExpressionContext:
    values = dict(json={"name": "  Ada Lovelace ", "tags": ["a", "b", 3], "price": 3.14159, "n": 5,
                        "meta": {"length": 9}},
                  now=datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC), time_limit_s=30.0)
    values.update(overrides)
    return ExpressionContext(**values)


@pytest.mark.parametrize(("expr", "expected"), [
    ("$json.name.trim().toUpperCase()", "ADA LOVELACE"),
    ("$json.name.trim().toLowerCase()", "ada lovelace"),
    ("$json.name.trimStart()", "Ada Lovelace "),
    ("$json.name.trimEnd()", "  Ada Lovelace"),
    ("$json.name.length", 15),
    ("$json.tags.length", 3),
    ("$json.meta.length", 9),  # a field called length wins on an object
    ("$json.name.includes('Ada')", True),
    ("$json.tags.includes('z')", False),
    ("$json.name.trim().split(' ')", ["Ada", "Lovelace"]),
    ("'abc'.split('')", ["a", "b", "c"]),
    ("$json.name.trim().startsWith('Ada')", True),
    ("$json.name.trim().endsWith('lace')", True),
    ("'a-b-a'.replace('a', 'x')", "x-b-x"),  # Python's replace: every occurrence (documented)
    ("'a-b-a'.replaceAll('a', 'x')", "x-b-x"),
    ("'hello'.slice(1, 3)", "el"),
    ("'hello'.slice(-3)", "llo"),
    ("$json.tags.slice(1)", ["b", 3]),
    ("'hello'.substring(3, 1)", "el"),
    ("'hi'.charAt(1)", "i"),
    ("'hi'.charAt(9)", ""),
    ("$json.tags.at(-1)", 3),
    ("$json.tags.at(10)", None),
    ("$json.tags.join(', ')", "a, b, 3"),
    ("$json.tags.join()", "a,b,3"),
    ("$json.tags.indexOf('b')", 1),
    ("$json.tags.indexOf('z')", -1),
    ("'banana'.indexOf('an')", 1),
    ("'banana'.lastIndexOf('an')", 3),
    ("$json.n.toString() + '!'", "5!"),
    ("true_value.toString()".replace("true_value", "(1 == 1)"), "true"),
    ("$json.price.toFixed(2)", "3.14"),
    ("$json.n.toFixed(1)", "5.0"),
    ("'7'.padStart(3, '0')", "007"),
    ("'7'.padEnd(3, '.')", "7.."),
    ("'ab'.repeat(3)", "ababab"),
    ("'a'.concat('b', 'c')", "abc"),
    ("[1].concat([2], 3)", [1, 2, 3]),
    ("$json.tags.first()", "a"),
    ("$json.tags.last()", 3),
    ("$now.toISOString()", "2026-01-02T03:04:05+00:00"),
])
def test_javascript_names_work(expr, expected):
    assert evaluate(expr, ctx()) == expected


def test_a_template_written_the_n8n_way_renders():
    assert render("Hi {{ $json.name.trim().split(' ')[0].toUpperCase() }} ({{ $json.tags.length }})", ctx()) \
        == "Hi ADA (3)"


def test_every_documented_alias_is_a_known_name():
    for name in JS_ALIASES:
        assert name in METHOD_NAMES or name == "length"


@pytest.mark.parametrize(("expr", "fragment"), [
    ("$json.name.toUpperCase.__class__", "starting with '_'"),
    ("$json.toString.__globals__", "starting with '_'"),
    ("$json.name.__class__.__mro__", "starting with '_'"),
    ("''.__class__.__subclasses__()", "starting with '_'"),
    ("$json['__class__']", None),  # just a missing key: data, never the object's insides
    ("$json.name.toUpperCase", "method 'toUpperCase' must be called"),
    ("$json.name.length()", "method '.length()' is not allowed"),
    ("$json.name.constructor", "cannot read attribute 'constructor' of str"),
    ("$json.name.constructor('return process')()", "only whitelisted functions"),
    ("$json.tags.toString.call(1)", "'.call()' is not allowed"),
    ("$json.name.format(1)", "'.format()' is not allowed"),
    ("'{0.__class__}'.replace('a', 'b')", None),  # braces in a text are only text
    ("'ab'.repeat(10**9)", "would be too large"),
    ("'x'.padStart(10**9)", "would be too large"),
    ("'x'.repeat(999999).concat('y'.repeat(999999))", "would be too large"),
    ("[1].concat([2]).join('x'.repeat(999999))", "would be too large"),
    ("$json.price.toFixed(10**6)", "digits must be between 0 and 100"),
    ("(" * 60 + "1" + ")" * 60, "nested too deeply"),
    ("'a'" + ".concat('a')" * 60, "nested too deeply"),
    ("[" + ", ".join(["'x'.repeat(900000).includes('y')"] * 40) + "]", "too expensive"),
])
def test_hostile_expressions_stay_in_the_sandbox(expr, fragment):
    try:
        result = evaluate(expr, ctx())
    except ExpressionError as exc:
        assert fragment is not None and fragment in str(exc), str(exc)
        return
    assert fragment is None, f"{expr!r} gave {result!r}"
    assert isinstance(result, (str, list, type(None)))
