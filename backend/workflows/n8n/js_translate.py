"""One n8n (JavaScript) expression -> the same expression in LinkFlow's language, or ``Unsupported``.

    translate("$json.name.toUpperCase()")            -> '$json.name.upper()'
    translate("$('Orders').item.json.total > 10")    -> '($node["Orders"].items[$item_index].total > 10)'
    translate("$json.paid ? 'yes' : 'no'")           -> '("yes" if $json.paid else "no")'

Only what keeps its meaning is converted: an arrow function, ``$env``, a regex or ``.toFixed()``
raise ``Unsupported`` naming it; names that reach for the host (``constructor``, ``process``,
``require``...) raise ``Refused``. The result is Python-like text checked by LinkFlow's own
expression validator afterwards (see ``convert_value``).
"""

from __future__ import annotations

import json
import keyword
import math
import re
from dataclasses import dataclass

from backend.workflows.n8n.js_lexer import Refused, Token, Unsupported, tokens

FORBIDDEN = frozenset({
    "constructor", "__proto__", "prototype", "process", "require", "globalThis", "global", "window", "eval",
    "Function", "this", "import", "module", "exports", "Reflect", "Proxy", "Buffer", "__defineGetter__",
    "__lookupGetter__", "setTimeout", "setInterval", "fetch",
})
_DOLLARS = {"$json": "$json", "$itemIndex": "$item_index", "$now": "$now", "$today": "$today",
            "$execution": "$execution", "$workflow": "$workflow", "$vars": "$vars"}
_GLOBALS = frozenset({"Math", "JSON", "Object"})
_LITERALS = {"true": "True", "false": "False", "null": "None", "undefined": "None"}
_LUXON = {"yyyy": "%Y", "MM": "%m", "dd": "%d", "HH": "%H", "mm": "%M", "ss": "%S"}
_LUXON_FORMAT = re.compile(r"(?:yyyy|MM|dd|HH|mm|ss|[-/:. T,])+")
_BINARY = [  # (operators, precedence), lowest first
    (("??",), 1), (("||",), 2), (("&&",), 3), (("===", "!==", "==", "!="), 4),
    (("<", "<=", ">", ">="), 5), (("+", "-"), 6), (("*", "/", "%"), 7), (("**",), 8),
]
_PRECEDENCE = {op: level for ops, level in _BINARY for op in ops}
_PY_OP = {"===": "==", "!==": "!=", "&&": "and", "||": "or"}
_STR_METHODS = {"toUpperCase": "upper", "toLowerCase": "lower", "trim": "strip", "trimStart": "lstrip",
                "trimEnd": "rstrip", "startsWith": "startswith", "endsWith": "endswith"}


@dataclass(frozen=True)
class _X:
    """A translated piece: its code and what it stands for in n8n's object model."""

    code: str
    kind: str = "val"  # val, str, node, input, item, items, global
    name: str = ""  # node: the node's name; global: which global; items: "wrapped" when items are {json}


def _lit(value: object) -> str:
    return json.dumps(value, ensure_ascii=False)


class _Parser:
    def __init__(self, toks: list[Token]) -> None:
        self.toks, self.i = toks, 0

    @property
    def tok(self) -> Token:
        return self.toks[self.i]

    def take(self) -> Token:
        tok = self.toks[self.i]
        self.i += 1
        return tok

    def at(self, op: str) -> bool:
        return self.tok.kind == "op" and self.tok.value == op

    def expect(self, op: str) -> None:
        if not self.at(op):
            raise Unsupported(f"expected {op!r} at position {self.tok.pos}, found {self._show(self.tok)}")
        self.i += 1

    @staticmethod
    def _show(tok: Token) -> str:
        return "the end" if tok.kind == "end" else repr(tok.value if tok.kind != "tpl" else "`...`")

    def whole(self) -> _X:
        result = self.expression()
        if self.tok.kind != "end":
            if self.at(";") or self.at("="):
                raise Unsupported("statements and assignments have no LinkFlow counterpart")
            raise Unsupported(f"unexpected {self._show(self.tok)} at position {self.tok.pos}")
        return result

    def expression(self) -> _X:
        condition = self.binary(1)
        if self.at("=>"):
            raise Unsupported("arrow functions have no LinkFlow counterpart")
        if not self.at("?"):
            return condition
        self.take()
        yes = self.expression()
        self.expect(":")
        no = self.expression()
        return _X(f"({_value(yes)} if {_value(condition)} else {_value(no)})",
                  "str" if yes.kind == no.kind == "str" else "val")

    def binary(self, level: int) -> _X:
        left = self.unary()
        while self.tok.kind == "op" and _PRECEDENCE.get(self.tok.value, 0) >= level:
            op = self.take().value
            right = self.binary(_PRECEDENCE[op] + (0 if op == "**" else 1))
            left = _combine(op, left, right)
        return left

    def unary(self) -> _X:
        if self.at("!"):
            self.take()
            return _X(f"(not {_value(self.unary())})")
        if self.at("-") or self.at("+"):
            op = self.take().value
            operand = _value(self.unary())
            return _X(f"({op}{operand})")
        if self.tok.kind == "name" and self.tok.value in ("typeof", "new", "delete", "void", "await", "instanceof"):
            raise Unsupported(f"'{self.tok.value}' has no LinkFlow counterpart")
        return self.postfix(self.primary())

    def primary(self) -> _X:
        tok = self.take()
        if tok.kind == "num":
            number = float(tok.value)
            if not math.isfinite(number):
                raise Unsupported(f"number {tok.value} is out of range")
            return _X(str(int(number)) if number.is_integer() and abs(number) < 2**53 else repr(number))
        if tok.kind == "str":
            return _X(_lit(tok.value), "str")
        if tok.kind == "tpl":
            return _template(tok.value)
        if tok.kind == "op":
            return self._bracketed(tok)
        if tok.kind == "name":
            return self._name(tok.value)
        raise Unsupported("the expression ends too early")

    def _bracketed(self, tok: Token) -> _X:
        if tok.value == "(":
            inner = self.expression()
            self.expect(")")
            return inner
        if tok.value == "[":
            elements = self._list("]")
            return _X("[" + ", ".join(_value(e) for e in elements) + "]")
        if tok.value == "{":
            return self._object()
        if tok.value == "...":
            raise Unsupported("spread (...) has no LinkFlow counterpart")
        raise Unsupported(f"unexpected {tok.value!r} at position {tok.pos}")

    def _list(self, closing: str) -> list[_X]:
        elements = []
        while not self.at(closing):
            elements.append(self.expression())
            if not self.at(closing):
                self.expect(",")
        self.take()
        return elements

    def _object(self) -> _X:
        pairs = []
        while not self.at("}"):
            key = self.take()
            if key.kind not in ("name", "str", "num"):
                raise Unsupported("computed or spread object keys have no LinkFlow counterpart")
            _check_name(str(key.value))
            if not self.at(":"):
                raise Unsupported("shorthand object properties have no LinkFlow counterpart")
            self.take()
            pairs.append(f"{_lit(str(key.value))}: {_value(self.expression())}")
            if not self.at("}"):
                self.expect(",")
        self.take()
        return _X("{" + ", ".join(pairs) + "}")

    def _name(self, name: str) -> _X:
        _check_name(name)
        if name in _LITERALS:
            return _X(_LITERALS[name])
        if name in _DOLLARS:
            return _X(_DOLLARS[name])
        if name == "$input":
            return _X("$input", "input")
        if name == "$" and self.at("("):
            self.take()
            target = self.take()
            if target.kind != "str":
                raise Unsupported("$(...) needs a node name in quotes, e.g. $('Orders')")
            self.expect(")")
            return _X("", "node", target.value)
        if name == "$node":
            return self._legacy_node()
        if name in ("String", "parseInt", "Boolean") and self.at("("):
            self.take()
            return _plain_function(name, self._list(")"))
        if name in _GLOBALS:
            return _X("", "global", name)
        if name.startswith("$"):
            raise Unsupported(f"{name} has no LinkFlow counterpart")
        raise Unsupported(f"name '{name}' has no LinkFlow counterpart (only n8n's $ variables are converted)")

    def _legacy_node(self) -> _X:
        if self.at("["):
            self.take()
            target = self.take()
            self.expect("]")
        elif self.at("."):
            self.take()
            target = self.take()
        else:
            raise Unsupported('$node must be followed by ["Node name"]')
        if target.kind not in ("str", "name"):
            raise Unsupported('$node[...] needs a node name in quotes')
        return _X("", "node", str(target.value))

    def postfix(self, x: _X) -> _X:
        while True:
            if self.at(".") or self.at("?."):
                optional = self.take().value == "?."
                if self.tok.kind != "name":
                    raise Unsupported(f"expected a property name at position {self.tok.pos}")
                name = self.take().value
                _check_name(name)
                if self.at("("):
                    self.take()
                    x = _call(x, name, self._list(")"))
                else:
                    x = _member(x, name, optional)
            elif self.at("["):
                self.take()
                key = self.expression()
                self.expect("]")
                x = _index(x, key)
            elif self.at("("):
                raise Unsupported("only known functions and methods can be called")
            else:
                return x


def _check_name(name: str) -> None:
    if name in FORBIDDEN or name.startswith("__"):
        raise Refused(f"'{name}' reaches outside the expression; LinkFlow refuses it")


def _value(x: _X) -> str:
    if x.kind == "node":
        raise Unsupported(f"$('{x.name}') must be followed by .item.json, .first().json, .last().json or .all()")
    if x.kind == "input":
        raise Unsupported("$input must be followed by .item.json, .first().json, .last().json or .all()")
    if x.kind == "item":
        raise Unsupported("an n8n item must be followed by .json (binary data is not converted)")
    if x.kind == "items":
        raise Unsupported("a list of n8n items is only converted with .length or [index].json")
    if x.kind == "global":
        raise Unsupported(f"{x.name} alone has no LinkFlow counterpart")
    return x.code


def _is_text(x: _X) -> bool:
    return x.kind == "str"


def _combine(op: str, left: _X, right: _X) -> _X:
    a, b = _value(left), _value(right)
    if op == "??":
        return _X(f"({a} if {a} is not None else {b})", "str" if left.kind == right.kind == "str" else "val")
    if op == "+" and (_is_text(left) or _is_text(right)):  # JS joins text with anything
        a = a if _is_text(left) else f"str({a})"
        b = b if _is_text(right) else f"str({b})"
        return _X(f"({a} + {b})", "str")
    return _X(f"({a} {_PY_OP.get(op, op)} {b})")


def _template(parts: list) -> _X:
    pieces = []
    for part in parts:
        if isinstance(part, str):
            pieces.append(_lit(part))
        else:
            inner = _Parser(part).whole()
            pieces.append(_value(inner) if _is_text(inner) else f"str({_value(inner)})")
    return _X("(" + " + ".join(pieces or ['""']) + ")", "str")


def _member(x: _X, name: str, optional: bool) -> _X:
    if x.kind == "node":
        return _node_member(x, name)
    if x.kind == "input":
        if name == "item":
            return _X("$json", "item")
        raise Unsupported(f"$input.{name} has no LinkFlow counterpart")
    if x.kind == "item":
        if name == "json":
            return _X(x.code)
        raise Unsupported(f"item.{name} has no LinkFlow counterpart (only .json is converted)")
    if x.kind == "items":
        if name == "length":
            return _X(f"len({x.code})")
        raise Unsupported(f"a list of items' .{name} has no LinkFlow counterpart")
    if x.kind == "global":
        if x.name == "Math" and name == "PI":
            return _X(repr(math.pi))
        raise Unsupported(f"{x.name}.{name} has no LinkFlow counterpart")
    base = _value(x)
    if name == "length":
        return _X(f"len({base})")
    plain = name.isidentifier() and name.isascii() and not name.startswith("_") and not keyword.iskeyword(name)
    access = f"{base}.{name}" if plain else f"{base}[{_lit(name)}]"  # $json.from: a Python keyword
    return _X(f"({access} if {base} is not None else None)" if optional else access)


def _node_member(x: _X, name: str) -> _X:
    ref = f"$node[{_lit(x.name)}]"
    if name == "item":
        return _X(f"{ref}.items[$item_index]", "item")
    if name == "json":  # the legacy $node["Name"].json: the item with the current item's index
        return _X(f"{ref}.items[$item_index]")
    raise Unsupported(f"$('{x.name}').{name} has no LinkFlow counterpart")


def _index(x: _X, key: _X) -> _X:
    if x.kind == "items":
        element = f"{x.code}[{_value(key)}]"
        return _X(f"{element}.json" if x.name == "wrapped" else element, "item")
    return _X(f"{_value(x)}[{_value(key)}]")


def _call(x: _X, name: str, args: list[_X]) -> _X:
    if x.kind in ("node", "input"):
        return _source_call(x, name, args)
    if x.kind == "global":
        return _global_call(x.name, name, args)
    return _method(x, name, args)


def _source_call(x: _X, name: str, args: list[_X]) -> _X:
    if args:
        raise Unsupported(f".{name}() with arguments has no LinkFlow counterpart")
    if x.kind == "node":
        ref = f"$node[{_lit(x.name)}]"
        calls = {"first": (f"{ref}.json", "item"), "last": (f"{ref}.items[-1]", "item"),
                 "all": (f"{ref}.items", "items")}
    else:
        calls = {"first": ("$input[0].json", "item"), "last": ("$input[-1].json", "item"),
                 "all": ("$input", "items")}
    if name not in calls:
        raise Unsupported(f".{name}() has no LinkFlow counterpart")
    code, kind = calls[name]
    return _X(code, kind, "wrapped" if x.kind == "input" and kind == "items" else "")


def _arity(name: str, args: list, low: int, high: int | None = None) -> list[str]:
    if not low <= len(args) <= (low if high is None else high):
        raise Unsupported(f"{name}() is converted with {low} argument(s) only")
    return [_value(a) for a in args]


def _global_call(owner: str, name: str, args: list[_X]) -> _X:
    full = f"{owner}.{name}"
    if full in ("Math.max", "Math.min"):
        return _X(f"{name}({', '.join(_arity(full, args, 2, 20))})")
    if full == "Math.abs":
        return _X(f"abs({_arity(full, args, 1)[0]})")
    if full in ("Math.floor", "Math.ceil", "Math.round"):
        (value,) = _arity(full, args, 1)
        return _X({"Math.floor": f"int({value} // 1)", "Math.ceil": f"(-int(-{value} // 1))",
                   "Math.round": f"int(({value} + 0.5) // 1)"}[full])
    if full == "Math.pow":
        base, exponent = _arity(full, args, 2)
        return _X(f"({base} ** {exponent})")
    if full == "JSON.parse":
        return _X(f"parse_json({_arity(full, args, 1)[0]})")
    if full == "JSON.stringify":
        if len(args) == 3 and args[1].code == "None" and args[2].code.isdigit():
            return _X(f"json({_value(args[0])}, {args[2].code})", "str")
        raise Unsupported("JSON.stringify() without an indent spaces its output differently; use json() by hand")
    if full in ("Object.keys", "Object.values"):
        return _X(f"{_arity(full, args, 1)[0]}.{name}()")
    if full == "Object.entries":
        return _X(f"{_arity(full, args, 1)[0]}.items()")
    raise Unsupported(f"{full}() has no LinkFlow counterpart")


def _plain_function(name: str, args: list[_X]) -> _X:
    if name == "String":
        return _X(f"str({_arity(name, args, 1)[0]})", "str")
    if name == "parseInt":
        return _X(f"int({_arity(name, args, 1)[0]})")
    if name == "Boolean":
        return _X(f"bool({_arity(name, args, 1)[0]})")
    raise Unsupported(f"{name}() has no LinkFlow counterpart")


def _method(x: _X, name: str, args: list[_X]) -> _X:
    base = _value(x)
    if name in _STR_METHODS:
        return _X(f"{base}.{_STR_METHODS[name]}({', '.join(_arity(name, args, 0, 1))})",
                  "str" if name not in ("startsWith", "endsWith") else "val")
    if name == "includes":
        return _X(f"({_arity(name, args, 1)[0]} in {base})")
    if name in ("split", "replace", "replaceAll", "join", "slice", "substring"):
        return _sequence_method(base, name, args)
    if name == "indexOf":
        return _X(f"{base}.find({_arity(name, args, 1)[0]})")
    if name == "toString":
        _arity(name, args, 0)
        return _X(f"str({base})", "str")
    if name in ("first", "last") and not args:  # n8n's array helpers
        return _X(f"{base}[{0 if name == 'first' else -1}]")
    if name == "isEmpty" and not args:
        return _X(f"(len({base}) == 0)")
    if name == "toFormat":
        return _X(f"{base}.strftime({_luxon(args)})", "str")
    if name == "keys" and not args:
        return _X(f"{base}.keys()")
    raise Unsupported(f".{name}() has no exact LinkFlow counterpart")


def _sequence_method(base: str, name: str, args: list[_X]) -> _X:
    if name == "split":
        return _X(f"{base}.split({_arity(name, args, 1)[0]})")
    if name == "replace":
        old, new = _arity(name, args, 2)
        return _X(f"{base}.replace({old}, {new}, 1)", "str")  # a string pattern replaces the first match only
    if name == "replaceAll":
        old, new = _arity(name, args, 2)
        return _X(f"{base}.replace({old}, {new})", "str")
    if name == "join":
        (separator,) = _arity(name, args, 0, 1) or ['","']
        return _X(f"{separator}.join({base})", "str")
    bounds = _arity(name, args, 1, 2)
    if name == "substring" and not all(b.isdigit() for b in bounds):
        raise Unsupported(".substring() is converted with non-negative whole-number bounds only")
    return _X(f"{base}[{':'.join(bounds) if len(bounds) == 2 else bounds[0] + ':'}]")


def _luxon(args: list[_X]) -> str:
    if len(args) != 1 or args[0].kind != "str" or not args[0].code.startswith('"'):
        raise Unsupported(".toFormat() is converted with a format text in quotes only")
    fmt = json.loads(args[0].code)
    if not _LUXON_FORMAT.fullmatch(fmt):
        raise Unsupported(f".toFormat({fmt!r}): only yyyy MM dd HH mm ss and separators are converted")
    return _lit(re.sub(r"yyyy|MM|dd|HH|mm|ss", lambda m: _LUXON[m.group()], fmt))


def _scan(toks: list[Token]) -> None:
    """Refusals first, wherever they stand; then constructs that cannot convert anywhere."""
    for tok in toks:
        if tok.kind == "tpl":
            for part in tok.value:
                if not isinstance(part, str):
                    _scan(part)
        elif tok.kind == "name" or (tok.kind == "str" and tok.value in ("constructor", "__proto__", "prototype")):
            _check_name(str(tok.value))
    if any(tok.kind == "op" and tok.value == "=>" for tok in toks):
        raise Unsupported("arrow functions (as in .map or .filter) have no LinkFlow counterpart")


def _tokens(source: str) -> list[Token]:
    toks = tokens(source)
    _scan(toks)
    return toks


def translate(source: str) -> str:
    """The LinkFlow expression for the n8n expression ``source`` (without the braces)."""
    toks = _tokens(source)
    if len(toks) == 1:
        raise Unsupported("the expression is empty")
    return _value(_Parser(toks).whole())


def template_parts(source: str) -> list[tuple[bool, str]] | None:
    """For an expression that is one template literal: its parts, (is_expression, text or LinkFlow expression)."""
    toks = _tokens(source)
    if len(toks) != 2 or toks[0].kind != "tpl":
        return None
    return [(False, part) if isinstance(part, str) else (True, _value(_Parser(part).whole())) for part in toks[0].value]
