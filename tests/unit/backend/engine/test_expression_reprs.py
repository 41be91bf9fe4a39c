"""Whatever an expression reaches, what it shows is data, never Python's insides.

The walk is built from the evaluator's own tables (its variables, functions, methods and
properties), not from a hand-picked list: every variable, then every attribute, method,
function, subscript and operator applied to it with a few arguments of each kind. Each
outcome, a value or an error, is shown every way a user can see it: str(), a text template,
json(), ``+ ""``, and the Python str/repr/format of the value the engine hands on.
"""

from __future__ import annotations

import itertools
import re
from datetime import UTC, datetime

import pytest

from backend.engine.expression_functions import (
    DATE_ADD_UNITS,
    DATETIME_PROPERTIES,
    FUNCTIONS,
    METHOD_NAMES,
    NodeAccessor,
    NodeOutput,
    display,
    to_text,
)
from backend.engine.expressions import _VARIABLES, ExpressionContext, ExpressionError, evaluate, render

FORBIDDEN = re.compile(r"0x[0-9a-fA-F]{3,}|object at|<class|<function|<built-in|<bound method|<module|"
                       r"\bbackend\.|\bnodes\.|datetime\.datetime|datetime\.date\b|zoneinfo\.|NodeAccessor|"
                       r"NodeOutput|_Evaluator|ExpressionContext|DOLLAR_|Traceback")
# The plain Python types a value may have; anything else would be an internal object escaping.
PLAIN_TYPES = (dict, list, tuple, str, int, float, bool, type(None), datetime)

ARGUMENTS = ['""', "'a'", "0", "1", "-1", "2.5", "None", "True", "[1, 'b']", "{'k': 1}", "$now", "$json"]
ATTRIBUTES = sorted(DATETIME_PROPERTIES | {"json", "items"} | METHOD_NAMES | {"x", "tzinfo", "real", "get"})
OPERATORS = ["{0} + ''", "'' + {0}", "{0} + 1", "{0} * 2", "{0} - {0}", "{0} / 0", "{0} ** 0.5", "-{0}",
             "not {0}", "{0} < 1", "{0} < $now", "{0} == {0}", "{0} in [1]", "'a' in {0}", "{0} if {0} else 1",
             "{0}[0]", "{0}['a']", "{0}[0:1]", "{0}['Fetch']", "[{0}]", "{{'v': {0}}}", "({0}, 1)"]


def context() -> ExpressionContext:
    return ExpressionContext(
        json={"n": 2, "s": "text", "l": [1, "two", None, {"x": 1.5}], "d": {"a": {"b": [True]}}, "none": None},
        item_index=1, input=[{"json": {"n": 1}}, {"json": {"n": 2}}],
        nodes={"Fetch": [{"json": {"id": 7}}], "Empty": []}, vars={"region": "eu"},
        execution={"id": "ex-1", "mode": "manual", "resume_url": ""}, workflow={"id": "wf-1", "name": "W"},
        now=datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC), timezone="Europe/Berlin")


def atoms() -> list[str]:
    variables = [f"${name}" for name in sorted(_VARIABLES)]
    return [*variables, '$node["Fetch"]', '$node["Fetch"].json', '$node["Empty"].items', "$json.l", "$json.d",
            "$json.s", "$json.n", "$json.none", "2.5", "(1, 2)", "date_parse('2026-03-04T05:06:07')",
            "date_add($now, days=1)", "$json.items()", "range(3)"]


def expressions() -> list[str]:
    found: list[str] = []
    for atom in atoms():
        found.append(atom)
        found += [f"{atom}.{name}" for name in ATTRIBUTES]
        for name in sorted(METHOD_NAMES):
            found.append(f"{atom}.{name}()")
            found += [f"{atom}.{name}({arg})" for arg in ARGUMENTS]
            found += [f"{atom}.{name}({a}, {b})" for a, b in itertools.product(ARGUMENTS[:4], repeat=2)]
        for name in sorted(FUNCTIONS):
            found += [f"{name}({atom})", f"{name}()", f"{name}({atom}, {atom})"]
            found += [f"{name}({atom}, {arg})" for arg in ARGUMENTS] + [f"{name}({arg}, {atom})" for arg in ARGUMENTS]
            found += [f"{name}({atom}, {unit}=1)" for unit in sorted(DATE_ADD_UNITS)]
        found += [template.format(atom) for template in OPERATORS]
        found += [atom.lstrip("$") if atom.startswith("$") else f"_{atom}", f"{atom}.__class__"]
    return found


def outcome(expression: str, ctx: ExpressionContext):
    try:
        return True, evaluate(expression, ctx)
    except ExpressionError as exc:
        return False, str(exc)


def shown(expression: str, ok: bool, value, ctx: ExpressionContext) -> list[str]:
    """Every way the outcome of ``expression`` reaches a user."""
    views = [] if ok else [value]
    if ok:
        views += [display(value), to_text(value), f"{value}", str(value), repr(value)]
    for wrapped in (f"str({expression})", f"({expression}) + ''", f"json({expression})", f"[{expression}, $node]"):
        views.append(str(outcome(wrapped, ctx)[1]))
    try:
        views.append(str(render("x {{ " + expression + " }} y", ctx)))
    except ExpressionError as exc:
        views.append(str(exc))
    return views


def test_nothing_reachable_shows_an_address_a_class_path_or_internals():
    ctx = context()
    walked = expressions()
    assert len(walked) > 10_000
    kinds: set[type] = set()
    offenders: dict[str, str] = {}
    for expression in walked:
        ok, value = outcome(expression, ctx)
        if ok:
            kinds.add(type(value))
            assert isinstance(value, PLAIN_TYPES), (expression, type(value))
        for view in shown(expression, ok, value, ctx):
            if FORBIDDEN.search(view):
                offenders.setdefault(expression, view[:200])
    assert offenders == {}, f"{len(offenders)} leaks, e.g. {list(offenders.items())[:5]}"
    reached = {kind for kind in PLAIN_TYPES if any(issubclass(found, kind) for found in kinds)}
    assert reached == set(PLAIN_TYPES)  # the walk reached every kind of value


@pytest.mark.parametrize("helper", [NodeAccessor({"A": []}), NodeOutput([{"json": {}}])])
def test_the_node_helpers_describe_themselves(helper):
    for text in (str(helper), repr(helper), f"{helper}", display(helper), display([helper])):
        assert not FORBIDDEN.search(text), text
