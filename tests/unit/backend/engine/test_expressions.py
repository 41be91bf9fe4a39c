"""``{{ }}`` expressions: what they compute, and that they cannot escape their sandbox."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from backend.engine.expressions import (
    MAX_PARAMETER_DEPTH,
    ExpressionContext,
    ExpressionError,
    evaluate,
    has_expression,
    render,
    resolve_parameters,
)

NOW = datetime(2024, 3, 10, 15, 30, 45, tzinfo=UTC)  # a Sunday


def make_ctx(**overrides) -> ExpressionContext:
    values = dict(
        json={"n": 21, "name": "  Ada Lovelace ", "tags": ["a", "b"], "items": [1, 2], "address": None},
        item_index=3,
        input=[{"json": {"n": 1}}, {"json": {"n": 2}}],
        nodes={"Fetch": [{"json": {"id": 7}}, {"json": {"id": 8}}], "Empty": []},
        vars={"region": "eu"},
        execution={"id": "ex-1", "mode": "manual"},
        workflow={"id": "wf-1", "name": "Sync"},
        now=NOW,
    )
    values.update(overrides)
    return ExpressionContext(**values)


def run(expr: str, **overrides):
    return evaluate(expr, make_ctx(**overrides))


def fails(expr: str, fragment: str, **overrides) -> str:
    with pytest.raises(ExpressionError) as info:
        evaluate(expr, make_ctx(**overrides))
    message = str(info.value)
    assert fragment in message, message
    return message


# -- correctness ---------------------------------------------------------------------------------


def test_a_single_expression_keeps_its_type():
    ctx = make_ctx()
    assert render("{{ $json.n * 2 }}", ctx) == 42
    assert render("  {{ $json.tags }}\n", ctx) == ["a", "b"]
    assert render("{{ $json.address }}", ctx) is None
    assert render("{{ $json.n > 20 }}", ctx) is True


def test_several_expressions_are_written_into_the_text():
    ctx = make_ctx()
    assert render("Hi {{ $json.name.strip() }} #{{ $item_index }}", ctx) == "Hi Ada Lovelace #3"
    assert render("[{{ $json.address }}] {{ $json.n > 1 }} {{ 1 < 0 }}", ctx) == "[] true false"
    assert render("x={{ {'a': [1, None]} }}", ctx) == 'x={"a": [1, null]}'
    assert render("{{ 1 }}{{ 2 }}", ctx) == "12"


def test_text_without_expressions_is_returned_unchanged():
    ctx = make_ctx()
    assert render("plain { text }", ctx) == "plain { text }"
    assert render(5, ctx) == 5


def test_braces_and_dollars_inside_expressions():
    ctx = make_ctx()
    assert render('{{ {"a": {"b": 1}} }}', ctx) == {"a": {"b": 1}}
    assert render('{{ "}}" + "$json" }}', ctx) == "}}$json"
    assert render("{{ $json.n  # the answer\n }}", ctx) == 21
    assert render("{{ [\n  $json.n,\n  $item_index\n] }}", ctx) == [21, 3]
    with pytest.raises(ExpressionError, match="never closed"):
        render("Hi {{ $json.name ", ctx)


def test_variables():
    assert run("$input[1].json.n + $item_index") == 5
    assert run("$vars.region") == "eu"
    assert run('$execution["mode"] + "/" + $workflow.name') == "manual/Sync"
    assert run("len($input)") == 2


def test_node_outputs():
    assert run('$node["Fetch"].json.id') == 7
    assert run('$node["Fetch"].items') == [{"id": 7}, {"id": 8}]
    assert run('$node["Empty"].json') == {}
    fails('$node["Missing"].json', "'Missing'")
    fails('$node["Fetch"]', ".json or .items")
    fails("$node.Fetch", 'use $node["Fetch"]')


def test_dict_keys_read_like_attributes():
    assert run("$json.missing") is None
    assert run('$json["missing"]') is None
    assert run("$json.items") == [1, 2]  # a key called "items"...
    assert run("len($json.items())") == 5  # ...and the dict method, when called
    fails("$json.address.street", "`$json.address` is missing in item 3, so it has no .street")


def test_operators_and_conditionals():
    assert run("'big' if $json.n > 10 else 'small'") == "big"
    assert run("$json.address or 'unknown'") == "unknown"
    assert run("$json.n > 1 and not $json.address") is True
    assert run("1 < 2 <= 2 != 3") is True
    assert run("'a' in $json.tags and 'z' not in $json.tags") is True
    assert run("7 // 2 + 7 % 2 + 2 ** 3 - 1.5 / 3") == 11.5
    assert run("[1, 2] + [3]") == [1, 2, 3]
    assert run("(1, 'x')") == (1, "x")
    fails("1 / 0", "dividing by zero has no result")
    fails("'a' + 1", 'the text "a" and the number 1 in item 3; + joins two texts or adds two numbers')


def test_subscripts_and_slices():
    assert run("$json.tags[-1]") == "b"
    assert run("'abcdef'[1:4]") == "bcd"
    assert run("[1, 2, 3, 4][::2]") == [1, 3]
    fails("$json.tags[5]", "index 5 is out of range for a list of length 2")
    fails("$json.address['x']", "`$json.address` is missing in item 3, so it has no ['x']")


def test_string_methods():
    assert run("$json.name.strip().upper()") == "ADA LOVELACE"
    assert run("$json.name.strip().lower().title()") == "Ada Lovelace"
    assert run("'a,b,c'.split(',')") == ["a", "b", "c"]
    assert run("'a-b'.replace('-', '+')") == "a+b"
    assert run("'abc'.startswith('ab') and 'abc'.endswith('bc')") is True
    assert run("', '.join($json.tags)") == "a, b"


def test_dict_and_list_methods():
    assert run("{'a': 1}.keys()") == ["a"]
    assert run("{'a': 1}.values()") == [1]
    assert run("{'a': 1}.items()") == [("a", 1)]
    assert run("$json.get('nope', 'dflt')") == "dflt"
    assert run("[1, 2, 2].count(2) + [5, 6].index(6)") == 3
    fails("[3, 1].sort()", "'.sort()' is not allowed")


def test_functions():
    assert run("len('abc') + int('4') + float('0.5') + abs(-1)") == 8.5
    assert run("str(5) + str(None)") == "5None"
    assert run("bool(0) or round(2.567, 2)") == 2.57
    assert run("min([3, 1]) + max(3, 9) + sum([1, 2, 3])") == 16
    assert run("sorted(['b', 'a'])") == ["a", "b"]
    assert run("list(range(3))") == [0, 1, 2]
    assert run("sum(range(10 ** 5))") == 4999950000
    assert run("json({'a': True})") == '{"a": true}'
    assert run("parse_json('{\"a\": [1]}').a[0]") == 1
    fails("len(5)", "len() needs a list, string or dict, got int")
    fails("int('x')", "int(): the text 'x' is not a whole number")


def test_date_helpers():
    ctx = dict(timezone="Europe/Berlin")
    assert run("$now.isoformat()", **ctx) == "2024-03-10T16:30:45+01:00"
    assert run("$today.isoformat()", **ctx) == "2024-03-10T00:00:00+01:00"
    assert run("[$now.year, $now.month, $now.day, $now.hour, $now.minute, $now.weekday()]") == [
        2024,
        3,
        10,
        15,
        30,
        6,
    ]
    assert run("date_add($now, days=1, hours=2).isoformat()") == "2024-03-11T17:30:45+00:00"
    assert run("date_format($now, '%Y-%m-%d %H:%M')") == "2024-03-10 15:30"
    assert run("timestamp(date_parse('2024-01-01T00:00:00Z'))") == 1704067200.0
    assert run("date_parse('2024-01-01').isoformat()", **ctx) == "2024-01-01T00:00:00+01:00"
    assert run("date_parse('2024-01-02') > date_parse('2024-01-01')") is True
    assert isinstance(run("$now"), datetime)
    fails("date_parse('yesterday')", "'yesterday' is not an ISO-8601 date")
    fails("date_add($now, months=1)", "date_add() accepts only")
    fails("$now", "unknown timezone 'Mars/Base'", timezone="Mars/Base")


def test_resolve_parameters_walks_nested_values():
    params = {
        "url": "https://api/{{ $json.n }}",
        "count": "{{ $json.n + 1 }}",
        "fields": [{"name": "tag", "value": "{{ $json.tags[0] }}"}, {"value": 5}],
        "plain": "no braces",
    }
    assert resolve_parameters(params, make_ctx()) == {
        "url": "https://api/21",
        "count": 22,
        "fields": [{"name": "tag", "value": "a"}, {"value": 5}],
        "plain": "no braces",
    }


def test_resolve_parameters_errors_name_the_json_path():
    ctx = make_ctx()
    with pytest.raises(ExpressionError) as info:
        resolve_parameters({"fields": [{"value": "{{ foo }}"}]}, ctx)
    assert str(info.value).startswith("parameters.fields[0].value: name 'foo' is not defined")
    with pytest.raises(ExpressionError, match=r'^parameters\["my key"\]\[1\]: '):
        resolve_parameters({"my key": ["ok", "{{ 1 / 0 }}"]}, ctx)
    with pytest.raises(ExpressionError, match=r'^parameters\.a\["7"\]\[0\]\.b: name \'nope\''):
        resolve_parameters({"a": {7: ({"b": "{{ nope }}"},)}}, ctx)
    deep: object = "{{ 1 }}"
    for _ in range(MAX_PARAMETER_DEPTH + 1):
        deep = {"x": deep}
    with pytest.raises(ExpressionError, match=r"^parameters(\.x)+: parameters are nested too deeply"):
        resolve_parameters(deep, ctx)


def test_has_expression():
    assert has_expression({"a": [1, {"b": "x {{ 1 }}"}]})
    assert not has_expression({"a": [1, {"b": "x { 1 }"}], "{{ key }}": 2})
    assert not has_expression(None)


def test_bad_expressions_fail_every_time_with_the_same_message():
    first = fails("1 +", "invalid expression")
    assert fails("1 +", "invalid expression") == first
    fails("", "expression is empty")
    fails("$foo", "unknown variable $foo")


# -- escape attempts -----------------------------------------------------------------------------

DEEP_PARENS = "(" * 200 + "1" + ")" * 200
DEEP_UNARY = "-" * 5000 + "1"
DEEP_NESTED_UNARY = "-(" * 2000 + "1" + ")" * 2000
TOO_LONG_UNARY = "-(" * 10_000 + "1" + ")" * 10_000
EXPENSIVE = "[" + ", ".join(["sum(range(10**5))"] * 60) + "]"

ESCAPES = [
    ("().__class__.__bases__[0].__subclasses__()", "starting with '_'"),
    ("$json.__class__", "starting with '_'"),
    ("$json.get.__self__", "starting with '_'"),
    ("[].__class__.__mro__", "starting with '_'"),
    ("__import__('os').system('touch SENTINEL')", "is not allowed"),
    ("1 if True else __import__('os')", "'__import__'"),
    ("'{0.__class__}'.format(1)", "'.format()' is not allowed"),
    ("str.format('{0}', 1)", "'.format()' is not allowed"),
    ("getattr(1, 'x')", "'getattr' is not allowed"),
    ("open('SENTINEL', 'w')", "'open' is not allowed"),
    ('eval(\'open("SENTINEL", "w")\')', "'eval' is not allowed"),
    ("exec('import os')", "'exec' is not allowed"),
    ("type(1)", "'type' is not allowed"),
    ("globals()", "'globals' is not allowed"),
    ("vars()", "'vars' is not allowed"),
    ("lambda: 1", "lambda is not allowed"),
    ("[x for x in range(10)]", "list comprehension is not allowed"),
    ("(x for x in range(10))", "generator expression is not allowed"),
    ("{x: 1 for x in range(3)}", "dict comprehension is not allowed"),
    ("(y := 1)", "assignment (:=) is not allowed"),
    ("[*$json.tags]", "star unpacking"),
    ("{**$json}", "** unpacking is not allowed"),
    ("f'{1}'", "f-string is not allowed"),
    ("DOLLAR_json", "reserved"),
    ("\uff24OLLAR_json", "reserved"),  # a fullwidth D: Python normalises it to DOLLAR_json
    ("$json()", "calling '$json' is not allowed"),
    ("$json['f']()", "only whitelisted functions and methods"),
    ("$json.f()", "'.f()' is not allowed"),
    ("len.__call__", "starting with '_'"),
    ("len", "function 'len' must be called"),
    ("$now.tzinfo", "cannot read attribute 'tzinfo' of datetime"),
    ("$now.replace(year=1)", "keyword arguments are only allowed for date_add"),
    ("1 << 100000", "operator << is not allowed"),
    ("b'x'", "bytes literal is not allowed"),
    ("9**9**9", "exponent 387420489 is too large"),
    ("(10**100) ** 999", "would be too large"),
    ("'a'.repeat(10**10)", "10,000,000,000 characters"),
    ("'a' * 10**10", "multiplying needs numbers"),
    ("[1] * 10**9", "1,000,000,000 elements"),
    ("str([[1] * 100000] * 100)", "result is too large"),
    ("('x'.repeat(1000)).replace('', 'y'.repeat(10000))", "would be too large"),
    ("'%0999999999d' % 1", "% (remainder) needs numbers"),
    ("round(1, -10**9)", "round() digits"),
    ("range(10**9)", "range() is too long"),
    ("int('9'.repeat(5000))", "limit"),
    ("parse_json('['.repeat(100000) + ']'.repeat(100000))", "the JSON is nested 100,000 levels deep; at most 200 levels"),
    (DEEP_PARENS, "nested too deeply"),
    (DEEP_UNARY, "nested too deeply"),
    (DEEP_NESTED_UNARY, "nested too deeply"),
    (TOO_LONG_UNARY, "expression is too long"),
    (EXPENSIVE, "too expensive"),
]


@pytest.mark.parametrize(("expr", "fragment"), ESCAPES, ids=[e[:40] for e, _ in ESCAPES])
def test_escape_attempts_are_refused(expr, fragment, tmp_path):
    sentinel = tmp_path / "pwned"

    def spy(*args, **kwargs):
        sentinel.touch()

    source = expr.replace("SENTINEL", str(sentinel))
    # A generous clock: the step budget, not the wall-clock limit (tested on its own below), must stop
    # the expensive ones even on a machine busy with other work.
    ctx = make_ctx(json={"f": spy, "tags": ["a"], "get": None}, time_limit_s=60.0)
    with pytest.raises(ExpressionError) as info:
        render("{{ " + source + " }}", ctx)
    assert fragment in str(info.value), str(info.value)
    assert not sentinel.exists()


def test_the_wall_clock_limit_stops_long_evaluations():
    fails("[" + ", ".join(["sum(range(10**5))"] * 20) + "]", "took longer than", time_limit_s=0.000001)
