"""n8n expressions -> LinkFlow expressions: converted ones evaluate to what n8n gives, the rest are named."""

from __future__ import annotations

import pytest

from backend.engine.expressions import ExpressionContext, render
from backend.workflows.n8n.js_lexer import Refused, Unsupported
from backend.workflows.n8n.values import convert_text

ITEM = {"name": " Ada ", "n": 21, "tags": ["a", "b"], "customer": {"email": "ada@x.io"}, "paid": True,
        "price": 2.345, "missing": None}
CONTEXT = dict(json=ITEM, item_index=1, input=[{"json": {"n": 1}}, {"json": ITEM}, {"json": {"n": 3}}],
               nodes={"Order": [{"json": {"id": "A"}}, {"json": {"id": "B", "total": 7}}, {"json": {"id": "C"}}]})


def _eval(n8n: str):
    return render(convert_text(n8n), ExpressionContext(**CONTEXT))


@pytest.mark.parametrize(("n8n", "expected"), [
    ("={{ $json.n }}", 21),
    ("={{ $json['n'] * 2 }}", 42),
    ("=Hello {{ $json.name.trim() }}!", "Hello Ada!"),
    ("={{ $json.name.trim().toUpperCase() }}", "ADA"),
    ("={{ $json.name.length }}", 5),
    ("={{ $json.tags.length }}", 2),
    ("={{ $json.tags.includes('b') }}", True),
    ("={{ $json.tags.join('-') }}", "a-b"),
    ("={{ $json.customer.email.split('@')[1] }}", "x.io"),
    ("={{ $json.customer.email.replace('a', 'A') }}", "Ada@x.io"),
    ("={{ $json.customer.email.startsWith('ada') }}", True),
    ("={{ $json.customer.email.slice(0, 3) }}", "ada"),
    ("={{ $json.paid ? 'yes' : 'no' }}", "yes"),
    ("={{ $json.n > 20 && !$json.paid }}", False),
    ("={{ $json.n === 21 || $json.n !== 3 }}", True),
    ("={{ $json.missing ?? 'none' }}", "none"),
    ("={{ $json.nothing?.deeper }}", None),
    ("={{ `${$json.n} items` }}", "21 items"),
    ("={{ `${$json.n}` }}", "21"),
    ("={{ 'n=' + $json.n }}", "n=21"),
    ("={{ Math.round($json.price * 100) / 100 }}", 2.35),
    ("={{ Math.floor(-2.5) }}", -3),
    ("={{ Math.ceil(2.1) }}", 3),
    ("={{ Math.max($json.n, 30) }}", 30),
    ("={{ JSON.parse('{\"a\": 1}').a }}", 1),
    ("={{ Object.keys($json.customer) }}", ["email"]),
    ("={{ $('Order').item.json.id }}", "B"),
    ("={{ $('Order').first().json.id }}", "A"),
    ("={{ $('Order').last().json.id }}", "C"),
    ("={{ $('Order').all().length }}", 3),
    ("={{ $node[\"Order\"].json.total }}", 7),
    ("={{ $input.first().json.n }}", 1),
    ("={{ $input.all().length }}", 3),
    ("={{ $input.item.json.n }}", 21),
    ("={{ $itemIndex }}", 1),
    ("={{ $json.customer.email.length > 3 && $json.from === undefined }}", True),  # `from` is a Python keyword
    ("={{ $json.class ?? $json.None ?? 'k' }}", "k"),
    ("={{ parseInt('42') + 1 }}", 43),
    ("plain text with {{ braces", "plain text with {{ braces"),
    (r"={{ 'it\'s' }}", "it's"),
])
def test_converted_expressions_give_what_n8n_gives(n8n, expected):
    assert _eval(n8n) == expected


@pytest.mark.parametrize(("n8n", "named"), [
    ("={{ $json.items.map(i => i.x) }}", "arrow functions"),
    ("={{ $env.SECRET }}", "$env"),
    ("={{ $json.price.toFixed(2) }}", "toFixed"),
    ("={{ JSON.stringify($json) }}", "JSON.stringify"),
    ("={{ new Date() }}", "new"),
    ("={{ $json.a = 1 }}", "assignments"),
    ("={{ /ab+c/.test($json.name) }}", "unexpected"),
    ("={{ $runIndex }}", "$runIndex"),
    ("={{ DateTime.now() }}", "DateTime"),
    ("={{ $('Order').params }}", "params"),
    ("={{ $json.x", "never closed"),
])
def test_unconvertible_expressions_are_named(n8n, named):
    with pytest.raises(Unsupported) as caught:
        convert_text(n8n)
    assert named in str(caught.value)
    assert not isinstance(caught.value, Refused)


@pytest.mark.parametrize("n8n", [
    "={{ this.constructor.constructor('return process')() }}",
    "={{ $json.constructor }}",
    "={{ $json['__proto__'] }}",
    "={{ require('child_process') }}",
    "={{ process.env.HOME }}",
    "={{ `${globalThis}` }}",
    "={{ $json.x.__defineGetter__ }}",
])
def test_expressions_reaching_for_the_host_are_refused(n8n):
    with pytest.raises(Refused):
        convert_text(n8n)


def test_a_literal_never_becomes_an_expression():
    assert _eval("{{ $json.n }}") == "{{ $json.n }}"
