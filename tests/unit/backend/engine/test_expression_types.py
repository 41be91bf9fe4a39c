"""Expressions never coerce silently, and their errors speak of the user's values, not Python's types."""

from __future__ import annotations

import re

import pytest

from backend.engine.expressions import ExpressionContext, ExpressionError, evaluate

PYTHON_WORDS = re.compile(r"unsupported operand|NoneType|instances of|invalid literal|could not convert|"
                          r"can only concatenate|can't multiply|object is not|Traceback")


def ctx(item_index: int = 0, **json) -> ExpressionContext:
    return ExpressionContext(json=json, item_index=item_index)


def error_of(expr: str, context: ExpressionContext) -> str:
    with pytest.raises(ExpressionError) as info:
        evaluate(expr, context)
    message = str(info.value)
    assert not PYTHON_WORDS.search(message), message
    return message


def test_text_times_number_is_an_error_naming_the_field_the_value_and_the_item():
    context = ctx(0, body={"qty": "x", "price": 7})
    message = error_of("$json.body.qty * $json.body.price", context)
    assert message.startswith('`$json.body.qty` is the text "x" in item 0; multiplying needs numbers')


def test_the_item_named_is_the_one_being_evaluated():
    assert "in item 4;" in error_of("$json.qty * 2", ctx(4, qty="x"))


@pytest.mark.parametrize(("expr", "fragment"), [
    ("$json.qty + 1", '`$json.qty` is the text "x" and the number 1 in item 0; + joins two texts or adds two numbers'),
    ("1 + $json.qty", 'the number 1 and `$json.qty` is the text "x"'),
    ("$json.qty - 1", "subtracting needs numbers"),
    ("$json.qty / 2", "dividing needs numbers"),
    ("$json.qty // 2", "dividing needs numbers"),
    ("$json.qty % 2", "% (remainder) needs numbers"),
    ("$json.qty ** 2", "** (power) needs numbers"),
    ("$json.price * 2", "`$json.price` is missing in item 0; multiplying needs numbers"),
    ("$json.flag * 3", "`$json.flag` is the boolean true in item 0"),
    ("$json.flag + 1", "`$json.flag` is the boolean true"),
    ("$json.list + 'a'", "`$json.list` is a list of 2 items ([1, 2]) and the text \"a\""),
    ("$json.obj * 2", '`$json.obj` is an object ({"a": 1})'),
    ("'ab' * 3", "to repeat a text write text.repeat(n)"),
    ("$json.five * 2", 'float(...) or int(...) turns a text like "5" into a number'),
    ("$json.n / $json.zero", "`$json.zero` is the number 0 in item 0; dividing by zero has no result"),
    ("$json.five < 3", '`$json.five` is the text "5" and the number 3 in item 0; < compares two numbers'),
    ("$json.price > 3", "`$json.price` is missing and the number 3 in item 0; > needs a value on both sides"),
    ("-$json.qty", '`$json.qty` is the text "x" in item 0; - needs a number'),
    ("$json.price.amount", "`$json.price` is missing in item 0, so it has no .amount"),
    ("$json.price['amount']", "`$json.price` is missing in item 0, so it has no ['amount']"),
    ("int($json.qty)", "int(): the text 'x' is not a whole number"),
    ("float($json.qty)", "float(): the text 'x' is not a number"),
    ("sorted([1, 'a'])", "cannot compare a text with a number using <"),
    ("max([$json.price, 1])", "cannot compare a number with a missing value (None)"),
])
def test_mixed_types_are_refused_in_user_terms(expr, fragment):
    context = ctx(qty="x", five="5", n=1, zero=0, flag=True, list=[1, 2], obj={"a": 1})
    assert fragment in error_of(expr, context)


@pytest.mark.parametrize(("expr", "expected"), [
    ("$json.n * 2", 42),
    ("$json.n + 0.5", 21.5),
    ("'a' + 'b'", "ab"),
    ("[1] + [2]", [1, 2]),
    ("[0] * 3", [0, 0, 0]),  # a list repeated is explicit, and stays allowed
    ("float($json.five) * 2", 10.0),
    ("int($json.five) + 1", 6),
    ("str($json.n) + ' items'", "21 items"),
    ("$json.n == 'x'", False),  # equality across kinds is a plain answer, not an error
])
def test_same_kind_operations_still_work(expr, expected):
    assert evaluate(expr, ctx(n=21, five="5")) == expected
