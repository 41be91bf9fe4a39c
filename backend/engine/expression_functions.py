"""Values, operators, functions and methods that workflow expressions may use.

Everything an expression can reach is listed here explicitly: the functions in
``FUNCTIONS``, the methods in the ``*_METHODS`` tables (looked up by the type of
the receiver), the datetime properties in ``DATETIME_PROPERTIES`` and the two
attributes of a node output. Nothing is found with ``getattr`` on a name the
user typed. Every operation that could build a huge value checks the size
*before* building it, and bulk work is charged to the evaluator's step budget
through ``ev.charge(n)``.

``ExpressionError`` lives here (and is re-exported by ``expressions``) so that
both modules can raise it without an import cycle.
"""

from __future__ import annotations

import ast
import itertools
import json as _json
import operator
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from backend import json_limits

MAX_SIZE = 1_000_000  # characters of a string, elements of a list/tuple/dict
MAX_INT_BITS = 10_000
MAX_EXPONENT = 1_000
MAX_RANGE = 100_000
MAX_ROUND_DIGITS = 100
MAX_FORMAT_LEN = 1_000
MAX_DATE_TEXT = 100
DATE_ADD_UNITS = frozenset({"weeks", "days", "hours", "minutes", "seconds"})

_NUMBER = (int, float)
_SEQUENCE = (str, list, tuple)
_SIZED = (str, list, tuple, dict)


class ExpressionError(Exception):
    """An expression could not be parsed, was refused, or failed while evaluating."""


class OperandTypeError(ExpressionError):
    """An operator got values it is not defined for; the evaluator words it with the expression's text."""


# -- value helpers ------------------------------------------------------------------------------


class Moment(datetime):
    """The datetimes expressions make ($now, date_parse, ...): a datetime whose repr is its ISO text.

    Python's repr, ``datetime.datetime(2026, 1, 2, ..., tzinfo=zoneinfo.ZoneInfo(key='Europe/Berlin'))``,
    would reach users inside ``str([$now])`` or a node's message; arithmetic, ``replace`` and
    ``astimezone`` keep the subclass. Python's messages call it ``datetime``, as users do.
    """

    __slots__ = ()

    def __repr__(self) -> str:
        return f"datetime('{self.isoformat()}')"


Moment.__name__ = Moment.__qualname__ = "datetime"


def as_moment(value: datetime) -> Moment:
    if isinstance(value, Moment):
        return value
    return Moment(value.year, value.month, value.day, value.hour, value.minute, value.second, value.microsecond,
                  value.tzinfo, fold=value.fold)


class NodeOutput:
    """What ``$node["Name"]`` returns: ``.json`` (first item) and ``.items`` (all items' json)."""

    __slots__ = ("_items",)

    def __init__(self, items: list) -> None:
        self._items = items

    @property
    def json(self) -> Any:
        return item_json(self._items[0]) if self._items else {}

    @property
    def items(self) -> list:
        return [item_json(item) for item in self._items]

    def __repr__(self) -> str:
        return f"<output of a node: {len(self._items)} items; use .json or .items>"


class NodeAccessor:
    """The value of ``$node``; only subscripting with a node name is possible."""

    __slots__ = ("_nodes",)

    def __init__(self, nodes: dict) -> None:
        self._nodes = nodes

    def __repr__(self) -> str:
        return f'<$node: the outputs of {len(self._nodes)} nodes; use $node["Name"].json or .items>'

    def get(self, name: Any) -> NodeOutput:
        if not isinstance(name, str):
            raise ExpressionError(f"$node[...] needs a node name (a string), got {type_name(name)}")
        if name not in self._nodes:
            known = ", ".join(sorted(self._nodes)[:10]) or "none"
            raise ExpressionError(f"unknown node {name!r} in $node[...] (nodes with output: {known})")
        return NodeOutput(self._nodes[name] or [])


def item_json(item: Any) -> Any:
    """The json of one output item: ``{"json": {...}}`` -> ``{...}``; anything else as is."""
    return item["json"] if isinstance(item, dict) and "json" in item else item


def type_name(value: Any) -> str:
    if value is None:
        return "None"
    if isinstance(value, datetime):
        return "datetime"
    if isinstance(value, NodeOutput):
        return "node output"
    if isinstance(value, NodeAccessor):
        return "$node"
    return type(value).__name__


def short(value: Any, limit: int = 60) -> str:
    """A repr for error messages, cut to ``limit`` characters (big values are cut before repr)."""
    if isinstance(value, (str, list, tuple)) and len(value) > limit:
        value = value[:limit]
    elif isinstance(value, dict) and len(value) > limit:
        value = dict(itertools.islice(value.items(), limit))
    try:
        text = display(value)
    except (ValueError, RecursionError):  # an int too long to print, a value nested too deeply
        return f"<{type_name(value)}>"
    return text if len(text) <= limit else text[: limit - 3] + "..."


_PLAIN_SCALARS = (str, int, float, bool, type(None))


def display(value: Any) -> str:
    """Python's literal form of ``value`` (what ``str()`` of a list shows), datetimes as ISO text.

    Never a repr with a class path or a memory address: the objects an expression can hold are
    plain JSON values, tuples, datetimes and the two ``$node`` helpers, whose reprs are written here.
    """
    if isinstance(value, _PLAIN_SCALARS):
        return repr(value)
    if isinstance(value, datetime):
        return value.isoformat()
    return repr(plain_value(value)) if isinstance(value, (list, tuple, dict)) else repr(value)


def plain_value(value: Any) -> Any:
    """``value`` with every datetime inside replaced by its ISO text (the same object if there is none)."""
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, dict):
        pairs = [(plain_value(k), plain_value(v)) for k, v in value.items()]
        changed = any(a is not k or b is not v for (a, b), (k, v) in zip(pairs, value.items(), strict=True))
        return dict(pairs) if changed else value
    if isinstance(value, (list, tuple)):
        items = [plain_value(item) for item in value]
        changed = any(a is not b for a, b in zip(items, value, strict=True))
        return type(value)(items) if changed else value
    return value


def check_length(length: int, sample: Any = "", what: str = "result") -> None:
    """Refuse a string (of ``sample``'s kind) or a container longer than MAX_SIZE, before it is built."""
    if length > MAX_SIZE:
        unit = "characters" if isinstance(sample, str) else "elements"
        raise ExpressionError(f"{what} would be too large ({length:,} {unit}; the limit is {MAX_SIZE:,})")


def check_int(value: Any) -> Any:
    """Refuse an int over MAX_INT_BITS; return ``value``."""
    if isinstance(value, int) and value.bit_length() > MAX_INT_BITS:
        raise ExpressionError(
            f"integer result is too large ({value.bit_length():,} bits; the limit is {MAX_INT_BITS:,})"
        )
    return value


_SCALARS = frozenset({int, float, bool, type(None)})


def _flat_weight(elements: Any) -> int | None:
    """Weight of a collection of only scalars or only strings (counted in C), else None."""
    kinds = set(map(type, elements))
    if kinds <= _SCALARS:
        return len(elements)
    if kinds == {str}:
        return len(elements) + sum(map(len, elements))
    return None


def weight(value: Any, limit: int = MAX_SIZE) -> int:
    """Nested elements plus characters in ``value``, counted until the total passes ``limit``.

    Counting nested values (not just ``len``) matters because one list can be referenced many
    times, e.g. ``[$json.big] * 1000``: cheap to build, huge to print, sort or compare.
    """
    total, stack = 0, [value]
    while stack and total <= limit:
        item = stack.pop()
        total += len(item) + 1 if isinstance(item, str) else 1
        if not isinstance(item, (list, tuple, dict)):
            continue
        if total + len(item) > limit:
            return total + len(item)
        for part in (item.keys(), item.values()) if isinstance(item, dict) else (item,):
            flat = _flat_weight(part)
            if flat is None:
                stack.extend(part)
            else:
                total += flat
    return total


def measure(value: Any) -> int:
    """The cost of a value an expression has just built; refuses one over the size limits."""
    if isinstance(value, str):
        check_length(len(value), value)
        return len(value) + 1
    if isinstance(value, (list, tuple, dict)):
        total = weight(value)
        if total > MAX_SIZE:
            raise ExpressionError(
                f"result is too large (over {MAX_SIZE:,} elements and characters in total, "
                f"counting nested values)"
            )
        return total
    check_int(value)
    return 1


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"a value of type {type_name(value)} cannot be converted to JSON")


def to_json(value: Any, indent: int | None = None) -> str:
    try:
        return _json.dumps(value, default=_json_default, ensure_ascii=False, indent=indent)
    except RecursionError:
        raise ExpressionError("value is nested too deeply to convert to JSON") from None
    except (TypeError, ValueError) as exc:
        raise ExpressionError(str(exc)) from exc


def to_text(value: Any) -> str:
    """How a value is written into a string template."""
    if isinstance(value, str):
        return value
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list, tuple)):
        return to_json(value)
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)


def zone(name: str) -> Any:
    if name == "UTC":
        return UTC
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, TypeError):
        raise ExpressionError(f"unknown timezone {name!r}") from None


def current_time(now: datetime | None, tz_name: str) -> datetime:
    """``now`` (naive means UTC; None means the clock) in the workflow timezone."""
    now = now or datetime.now(UTC)
    if now.tzinfo is None:
        now = now.replace(tzinfo=UTC)
    return as_moment(now).astimezone(zone(tz_name))


# -- operators -----------------------------------------------------------------------------------

_SYMBOLS = {
    ast.Add: "+",
    ast.Sub: "-",
    ast.Mult: "*",
    ast.Div: "/",
    ast.FloorDiv: "//",
    ast.Mod: "%",
    ast.Pow: "**",
}
_ARITHMETIC = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod,
    ast.Pow: operator.pow,
}
COMPARISONS = {
    ast.Eq: operator.eq,
    ast.NotEq: operator.ne,
    ast.Lt: operator.lt,
    ast.LtE: operator.le,
    ast.Gt: operator.gt,
    ast.GtE: operator.ge,
    ast.Is: operator.is_,
    ast.IsNot: operator.is_not,
    ast.In: lambda a, b: a in b,
    ast.NotIn: lambda a, b: a not in b,
}


def _check_power(base: Any, exponent: Any) -> None:
    if not isinstance(exponent, int):
        return
    if abs(exponent) > MAX_EXPONENT:
        raise ExpressionError(
            f"exponent {short(exponent)} is too large in {short(base)} ** {short(exponent)} "
            f"(the limit is {MAX_EXPONENT})"
        )
    if isinstance(base, int) and abs(base) > 1 and base.bit_length() * exponent > MAX_INT_BITS:
        raise ExpressionError(f"{short(base)} ** {exponent} would be too large (over {MAX_INT_BITS:,} bits)")


def _operand(number: Any) -> str:
    return f"({short(number)})" if number < 0 else short(number)


def _is_number(value: Any) -> bool:
    return isinstance(value, _NUMBER) and not isinstance(value, bool)  # True * 3 hides a mistake


def binary_op(op_type: type, left: Any, right: Any) -> Any:
    """``left <op> right`` for numbers; ``+`` and ``*`` also for strings, lists and tuples."""
    if _is_number(left) and _is_number(right):
        if op_type is ast.Pow:
            _check_power(left, right)
        result = _ARITHMETIC[op_type](left, right)
        if isinstance(result, complex):
            raise ExpressionError(
                f"{_operand(left)} ** {short(right)} has no real result: a negative number to a fractional power "
                "is a complex number, which JSON cannot hold; use abs() first, or check the sign")
        return check_int(result)
    if op_type is ast.Add and type(left) is type(right) and isinstance(left, _SEQUENCE):
        check_length(len(left) + len(right), left)
        return left + right
    if op_type is ast.Mult:  # a list repeated; a text is not ("x" * 3 hides a number that was text)
        seq, count = (left, right) if isinstance(right, int) else (right, left)
        if isinstance(seq, (list, tuple)) and isinstance(count, int) and not isinstance(count, bool):
            check_length(len(seq) * max(count, 0), seq)
            return seq * count
    raise OperandTypeError(
        f"{_SYMBOLS[op_type]} is not defined for {type_name(left)} ({short(left, 30)}) "
        f"and {type_name(right)} ({short(right, 30)})"
    )


def subscript(value: Any, key: Any) -> Any:
    """``value[key]``; a missing dict key gives None."""
    if isinstance(value, dict):
        return value.get(key)
    if isinstance(value, _SEQUENCE):
        if isinstance(key, slice):
            return value[key]
        if not isinstance(key, int):
            raise ExpressionError(
                f"{type_name(value)} indices must be integers, got {type_name(key)} {short(key)}"
            )
        if -len(value) <= key < len(value):
            return value[key]
        raise ExpressionError(f"index {key} is out of range for a {type_name(value)} of length {len(value)}")
    if isinstance(value, NodeAccessor) and not isinstance(key, slice):
        return value.get(key)
    raise ExpressionError(f"cannot index into {type_name(value)} with [{short(key)}]")


DATETIME_PROPERTIES = frozenset({"year", "month", "day", "hour", "minute", "second", "microsecond"})


def get_attribute(value: Any, name: str) -> Any:
    """``value.name`` without a call: a dict key, a datetime property or a node output field."""
    if isinstance(value, dict):
        return value.get(name)
    if isinstance(value, datetime) and name in DATETIME_PROPERTIES:
        return getattr(value, name)
    if isinstance(value, NodeOutput) and name in ("json", "items"):
        return value.json if name == "json" else value.items
    if isinstance(value, NodeAccessor):
        raise ExpressionError(f'use $node["{name}"] to read the output of a node')
    if name == "length" and isinstance(value, _SEQUENCE):  # JavaScript's .length, as len(...)
        return len(value)
    if name in METHOD_NAMES:
        raise ExpressionError(f"method '{name}' must be called, e.g. .{name}()")
    raise ExpressionError(f"cannot read attribute '{name}' of {type_name(value)}")


# -- functions -----------------------------------------------------------------------------------


def _arity(name: str, args: list, low: int, high: int | None = None) -> None:
    high = low if high is None else high
    if not low <= len(args) <= high:
        want = str(low) if low == high else f"{low} to {high}"
        raise ExpressionError(f"{name}() takes {want} argument(s), got {len(args)}")


def _need(name: str, value: Any, types: tuple, what: str) -> Any:
    if not isinstance(value, types):
        raise ExpressionError(f"{name}() needs {what}, got {type_name(value)} {short(value, 30)}")
    return value


def _collection(ev: Any, name: str, args: list) -> Any:
    """The single iterable argument of len/list/sorted/...; its length is charged."""
    _arity(name, args, 1)
    value = _need(name, args[0], _SIZED, "a list, string or dict")
    ev.charge(len(value) + 1)
    return value


def _one(name: str, func: Any, types: tuple = (object,), what: str = "", sized: bool = False) -> Any:
    """A function of one argument of ``types``; ``sized``: the argument is a collection (charged)."""

    def function(ev: Any, args: list) -> Any:
        if sized:
            return func(_collection(ev, name, args))
        _arity(name, args, 1)
        return func(_need(name, args[0], types, what))

    return function


def fn_str(ev: Any, args: list) -> str:
    _arity("str", args, 1)
    value = args[0]
    text = value if isinstance(value, str) else str(value) if isinstance(value, _PLAIN_SCALARS + (datetime,)) \
        else display(value)
    ev.charge(len(text))
    return text


def fn_int(ev: Any, args: list) -> int:
    _arity("int", args, 1, 2)
    value = _need("int", args[0], (str, int, float) if len(args) == 1 else (str,), "a string or a number")
    try:
        if len(args) == 2:
            return int(value, _need("int", args[1], (int,), "an integer"))
        return int(value)
    except ValueError as exc:
        if isinstance(value, str) and "digits" not in str(exc):  # not the limit on huge numbers
            raise ExpressionError(f"int(): the text {short(value, 40)} is not a whole number") from None
        raise
    except OverflowError:
        raise ExpressionError(f"int(): {short(value)} is not a finite number") from None


def fn_float(ev: Any, args: list) -> float:
    _arity("float", args, 1)
    value = _need("float", args[0], _TEXT_OR_NUMBER, "a string or a number")
    try:
        return float(value)
    except ValueError:
        raise ExpressionError(f"float(): the text {short(value, 40)} is not a number") from None


def fn_round(ev: Any, args: list) -> Any:
    _arity("round", args, 1, 2)
    number = _need("round", args[0], _NUMBER, "a number")
    if len(args) == 1 or args[1] is None:
        return round(number)
    digits = _need("round", args[1], (int,), "an integer number of digits")
    if abs(digits) > MAX_ROUND_DIGITS:
        raise ExpressionError(f"round() digits {digits} out of range (the limit is {MAX_ROUND_DIGITS})")
    return round(number, digits)


def _extreme(name: str, pick: Any) -> Any:
    def function(ev: Any, args: list) -> Any:
        values = _collection(ev, name, args) if len(args) == 1 else args
        if not values:
            raise ExpressionError(f"{name}() of an empty list")
        return pick(values)

    return function


def fn_sum(ev: Any, args: list) -> Any:
    _arity("sum", args, 1, 2)
    values = _collection(ev, "sum", args[:1])
    for value in values:
        _need("sum", value, _NUMBER, "a list of numbers")
    return sum(values, _need("sum", args[1], _NUMBER, "a number as start") if len(args) == 2 else 0)


def fn_sorted(ev: Any, args: list) -> list:
    return sorted(_collection(ev, "sorted", args))


def fn_range(ev: Any, args: list) -> list:
    _arity("range", args, 1, 3)
    for value in args:
        _need("range", value, (int,), "integers")
    numbers = range(*args)
    try:
        length = len(numbers)
    except OverflowError:
        length = MAX_RANGE + 1
    if length > MAX_RANGE:
        raise ExpressionError(f"range() is too long ({short(numbers)}; the limit is {MAX_RANGE:,} numbers)")
    ev.charge(length)
    return list(numbers)


def fn_dict(ev: Any, args: list) -> dict:
    pairs = _need("dict", _collection(ev, "dict", args), (list, tuple, dict), "a dict or a list of pairs")
    for pair in () if isinstance(pairs, dict) else pairs:
        if not isinstance(pair, (list, tuple)) or len(pair) != 2:
            raise ExpressionError(f"dict() needs [key, value] pairs, got {short(pair, 30)}")
    return dict(pairs)


def fn_json(ev: Any, args: list) -> str:
    _arity("json", args, 1, 2)
    indent = _need("json", args[1], (int,), "an integer indent") if len(args) == 2 else None
    if indent is not None and not 0 <= indent <= 8:
        raise ExpressionError(f"json() indent must be between 0 and 8, got {indent}")
    text = to_json(args[0], indent)
    ev.charge(len(text))
    return text


def fn_parse_json(ev: Any, args: list) -> Any:
    _arity("parse_json", args, 1)
    text = _need("parse_json", args[0], (str,), "a string")
    ev.charge(len(text))
    try:
        return json_limits.loads(text, what="parse_json(): the JSON")
    except json_limits.TooDeep as exc:
        raise ExpressionError(str(exc)) from None
    except ValueError as exc:
        raise ExpressionError(f"parse_json(): invalid JSON {short(text, 40)}: {exc}") from None


def _datetime(name: str, value: Any) -> datetime:
    return _need(name, value, (datetime,), "a datetime (e.g. $now or date_parse(...))")


def fn_date_add(ev: Any, args: list, **units: Any) -> datetime:
    _arity("date_add", args, 1)
    moment = _datetime("date_add", args[0])
    for unit, amount in units.items():
        if unit not in DATE_ADD_UNITS:
            raise ExpressionError(
                f"date_add() does not accept {unit}=; use {', '.join(sorted(DATE_ADD_UNITS))}"
            )
        _need("date_add", amount, _NUMBER, f"a number for {unit}=")
    try:
        return as_moment(moment) + timedelta(**units)
    except OverflowError:
        raise ExpressionError(f"date_add(): the result is out of range ({units})") from None


def _strftime(name: str, moment: Any, fmt: Any) -> str:
    _datetime(name, moment)
    _need(name, fmt, (str,), "a format string")
    if len(fmt) > MAX_FORMAT_LEN:
        raise ExpressionError(f"{name}() format is too long (the limit is {MAX_FORMAT_LEN} characters)")
    return moment.strftime(fmt)


def fn_date_format(ev: Any, args: list) -> str:
    _arity("date_format", args, 2)
    return _strftime("date_format", *args)


def fn_date_parse(ev: Any, args: list) -> datetime:
    _arity("date_parse", args, 1)
    text = _need("date_parse", args[0], (str,), "an ISO-8601 string")
    if len(text) > MAX_DATE_TEXT:
        raise ExpressionError(f"date_parse(): the text is too long ({short(text)})")
    try:
        moment = Moment.fromisoformat(text.strip())
    except ValueError:
        raise ExpressionError(f"date_parse(): {text!r} is not an ISO-8601 date") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=ev.tz)


_TEXT_OR_NUMBER = (str, int, float)
FUNCTIONS = {
    "len": _one("len", len, sized=True),
    "list": _one("list", list, sized=True),
    "any": _one("any", any, sized=True),
    "all": _one("all", all, sized=True),
    "bool": _one("bool", bool),
    "abs": _one("abs", abs, _NUMBER, "a number"),
    "float": fn_float,
    "timestamp": _one("timestamp", datetime.timestamp, (datetime,), "a datetime"),
    "str": fn_str,
    "int": fn_int,
    "round": fn_round,
    "min": _extreme("min", min),
    "max": _extreme("max", max),
    "sum": fn_sum,
    "sorted": fn_sorted,
    "range": fn_range,
    "dict": fn_dict,
    "json": fn_json,
    "parse_json": fn_parse_json,
    "date_add": fn_date_add,
    "date_format": fn_date_format,
    "date_parse": fn_date_parse,
}
KEYWORD_FUNCTIONS = frozenset({"date_add"})


# -- methods -------------------------------------------------------------------------------------


def _plain(func: Any, low: int, high: int | None = None, linear: bool = True) -> Any:
    """A method whose result is at most a small multiple of the receiver; ``linear``: charge its length."""

    def method(ev: Any, obj: Any, name: str, args: list) -> Any:
        _arity(name, args, low, high)
        ev.charge(len(obj) + 1 if linear and isinstance(obj, _SIZED) else 1)
        return func(obj, *args)

    return method


def _str_replace(ev: Any, text: str, name: str, args: list) -> str:
    _arity(name, args, 2, 3)
    old = _need(name, args[0], (str,), "strings")
    new = _need(name, args[1], (str,), "strings")
    count = text.count(old) if old else len(text) + 1
    if len(args) == 3 and _need(name, args[2], (int,), "an integer count") >= 0:
        count = min(count, args[2])
    check_length(len(text) + count * (len(new) - len(old)), text)
    ev.charge(len(text) + 1)
    return text.replace(*args)


def _str_join(ev: Any, separator: str, name: str, args: list) -> str:
    _arity(name, args, 1)
    parts = _need(name, args[0], _SEQUENCE, "a list of strings")
    for part in parts:
        _need(name, part, (str,), "a list of strings")
    check_length(sum(map(len, parts)) + len(separator) * max(len(parts) - 1, 0), separator)
    ev.charge(len(parts) + 1)
    return separator.join(parts)


def _dt_strftime(ev: Any, moment: datetime, name: str, args: list) -> str:
    _arity(name, args, 1)
    return _strftime(name, moment, args[0])


_STR_METHODS = {
    "upper": _plain(str.upper, 0),
    "lower": _plain(str.lower, 0),
    "title": _plain(str.title, 0),
    "capitalize": _plain(str.capitalize, 0),
    "strip": _plain(str.strip, 0, 1),
    "lstrip": _plain(str.lstrip, 0, 1),
    "rstrip": _plain(str.rstrip, 0, 1),
    "split": _plain(str.split, 0, 2),
    "startswith": _plain(str.startswith, 1, 3),
    "endswith": _plain(str.endswith, 1, 3),
    "find": _plain(str.find, 1, 3),
    "count": _plain(str.count, 1, 3),
    "index": _plain(str.index, 1, 3),
    "replace": _str_replace,
    "join": _str_join,
}
_DICT_METHODS = {
    "keys": _plain(lambda d: list(d), 0),
    "values": _plain(lambda d: list(d.values()), 0),
    "items": _plain(lambda d: list(d.items()), 0),
    "get": _plain(dict.get, 1, 2, linear=False),
}
_LIST_METHODS = {
    "count": _plain(lambda s, x: s.count(x), 1),
    "index": _plain(lambda s, *a: s.index(*a), 1, 3),
}
_DATETIME_METHODS = {
    "isoformat": _plain(datetime.isoformat, 0),
    "weekday": _plain(datetime.weekday, 0),
    "isoweekday": _plain(datetime.isoweekday, 0),
    "timestamp": _plain(datetime.timestamp, 0),
    "strftime": _dt_strftime,
}

# -- JavaScript-style names ----------------------------------------------------------------------
# People arrive with n8n habits ($json.name.toUpperCase(), .includes(), .length): these names are
# aliases of the methods above, or small explicit functions with JavaScript's result. Each one is
# listed here like every other method: nothing is looked up by the name the user typed.


def _includes(ev: Any, obj: Any, name: str, args: list) -> bool:
    _arity(name, args, 1)
    if isinstance(obj, str):
        _need(name, args[0], (str,), "a text to look for")
    ev.charge(len(obj) + 1)
    return args[0] in obj


def _index_of(last: bool) -> Any:
    def method(ev: Any, obj: Any, name: str, args: list) -> int:
        _arity(name, args, 1)
        ev.charge(len(obj) + 1)
        if isinstance(obj, str):
            needle = _need(name, args[0], (str,), "a text to look for")
            return obj.rfind(needle) if last else obj.find(needle)
        positions = [i for i, item in enumerate(obj) if item == args[0]]
        return (positions[-1] if last else positions[0]) if positions else -1

    return method


def _js_slice(ev: Any, obj: Any, name: str, args: list) -> Any:
    _arity(name, args, 0, 2)
    for bound in args:
        _need(name, bound, (int,), "integer positions")
    ev.charge(len(obj) + 1)
    start, end = (*args, None, None)[:2]
    return obj[start:end]


def _substring(ev: Any, text: str, name: str, args: list) -> str:
    _arity(name, args, 1, 2)
    start, end = (_need(name, a, (int,), "integer positions") for a in (*args, len(text))[:2])
    start, end = sorted((max(start, 0), max(end, 0)))  # JavaScript clamps and swaps
    ev.charge(len(text) + 1)
    return text[start:end]


def _char_at(ev: Any, text: str, name: str, args: list) -> str:
    _arity(name, args, 0, 1)
    index = _need(name, args[0], (int,), "an integer position") if args else 0
    return text[index] if 0 <= index < len(text) else ""


def _at(ev: Any, obj: Any, name: str, args: list) -> Any:
    _arity(name, args, 1)
    index = _need(name, args[0], (int,), "an integer position")
    return obj[index] if -len(obj) <= index < len(obj) else None


def _repeat(ev: Any, text: str, name: str, args: list) -> str:
    _arity(name, args, 1)
    count = _need(name, args[0], (int,), "a whole number of times")
    if count < 0:
        raise ExpressionError(f"{name}() needs a count of 0 or more, got {count}")
    check_length(len(text) * count, text)
    ev.charge(len(text) * count + 1)
    return text * count


def _pad(at_start: bool) -> Any:
    def method(ev: Any, text: str, name: str, args: list) -> str:
        _arity(name, args, 1, 2)
        width = _need(name, args[0], (int,), "a whole number length")
        fill = _need(name, args[1], (str,), "a text to pad with") if len(args) == 2 else " "
        check_length(width, text)
        missing = width - len(text)
        if missing <= 0 or not fill:
            return text
        padding = (fill * (missing // len(fill) + 1))[:missing]
        ev.charge(width + 1)
        return padding + text if at_start else text + padding

    return method


def _concat(ev: Any, obj: Any, name: str, args: list) -> Any:
    parts = [obj]
    for arg in args:
        if isinstance(obj, str):
            parts.append(_need(name, arg, (str,), "texts (write str(...) around a number)"))
        else:
            parts.append(list(arg) if isinstance(arg, (list, tuple)) else [arg])
    check_length(sum(len(part) for part in parts), obj)
    ev.charge(sum(len(part) for part in parts) + 1)
    return "".join(parts) if isinstance(obj, str) else [item for part in parts for item in part]


def _list_join(ev: Any, items: Any, name: str, args: list) -> str:
    _arity(name, args, 0, 1)
    separator = _need(name, args[0], (str,), "a text separator") if args else ","
    ev.charge(len(items) + 1)
    parts = [to_text(item) for item in items]
    check_length(sum(map(len, parts)) + len(separator) * max(len(parts) - 1, 0), separator)
    return separator.join(parts)


def _split(ev: Any, text: str, name: str, args: list) -> list:
    _arity(name, args, 0, 2)
    if args and args[0] == "":  # JavaScript's "abc".split("") gives the characters
        ev.charge(2 * len(text) + 1)
        return list(text)
    ev.charge(len(text) + 1)
    return text.split(*args)


def _to_string(ev: Any, value: Any, name: str, args: list) -> str:
    _arity(name, args, 0)
    text = to_text(value)
    ev.charge(len(text) + 1)
    return text


def _to_fixed(ev: Any, number: Any, name: str, args: list) -> str:
    _arity(name, args, 0, 1)
    digits = _need(name, args[0], (int,), "a whole number of digits") if args else 0
    if not 0 <= digits <= MAX_ROUND_DIGITS:
        raise ExpressionError(f"{name}() digits must be between 0 and {MAX_ROUND_DIGITS}, got {digits}")
    return f"{number:.{digits}f}"


def _first_or_last(index: int) -> Any:
    def method(ev: Any, items: Any, name: str, args: list) -> Any:
        _arity(name, args, 0)
        return items[index] if items else None

    return method


_SEQUENCE_JS = {
    "includes": _includes,
    "indexOf": _index_of(last=False),
    "lastIndexOf": _index_of(last=True),
    "slice": _js_slice,
    "at": _at,
    "concat": _concat,
    "toString": _to_string,
}
_STR_METHODS |= _SEQUENCE_JS | {
    "toUpperCase": _STR_METHODS["upper"],
    "toLowerCase": _STR_METHODS["lower"],
    "trim": _STR_METHODS["strip"],
    "trimStart": _STR_METHODS["lstrip"],
    "trimEnd": _STR_METHODS["rstrip"],
    "startsWith": _STR_METHODS["startswith"],
    "endsWith": _STR_METHODS["endswith"],
    "replaceAll": _str_replace,
    "split": _split,
    "substring": _substring,
    "charAt": _char_at,
    "repeat": _repeat,
    "padStart": _pad(at_start=True),
    "padEnd": _pad(at_start=False),
}
_LIST_METHODS |= _SEQUENCE_JS | {
    "join": _list_join,
    "first": _first_or_last(0),
    "last": _first_or_last(-1),
}
_NUMBER_METHODS = {"toFixed": _to_fixed, "toString": _to_string}
_DICT_METHODS |= {"toString": _to_string}
_DATETIME_METHODS |= {"toString": _to_string, "toISOString": _DATETIME_METHODS["isoformat"]}
JS_ALIASES = {  # JavaScript name -> the Python-style name it stands for, for the docs and autocomplete
    "toUpperCase": "upper", "toLowerCase": "lower", "trim": "strip", "trimStart": "lstrip", "trimEnd": "rstrip",
    "startsWith": "startswith", "endsWith": "endswith", "replaceAll": "replace", "includes": "in",
    "indexOf": "find", "toISOString": "isoformat", "length": "len()",
}
METHOD_NAMES = frozenset().union(_STR_METHODS, _DICT_METHODS, _LIST_METHODS, _DATETIME_METHODS, _NUMBER_METHODS)


_METHOD_TABLES = (
    (str, _STR_METHODS),
    (dict, _DICT_METHODS),
    ((list, tuple), _LIST_METHODS),
    (datetime, _DATETIME_METHODS),
    (bool, {"toString": _to_string}),
    ((int, float), _NUMBER_METHODS),
)


def call_method(ev: Any, value: Any, name: str, args: list) -> Any:
    """``value.name(*args)`` for the whitelisted methods of str, dict, list/tuple and datetime."""
    table = next((table for types, table in _METHOD_TABLES if isinstance(value, types)), {})
    method = table.get(name)
    if method is None:
        raise ExpressionError(f"cannot call .{name}() on {type_name(value)} ({short(value, 30)})")
    return method(ev, value, name, args)


def methods_by_type() -> dict[str, list[str]]:
    """Method names by the JSON type of the value they are called on (the editor's autocomplete)."""
    return {"string": sorted(_STR_METHODS), "array": sorted(_LIST_METHODS), "object": sorted(_DICT_METHODS),
            "number": sorted(_NUMBER_METHODS), "boolean": ["toString"]}
