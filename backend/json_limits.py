"""What LinkFlow accepts as JSON, in one place: how deep it may nest and which values it may hold.

JSON documents that arrive (API and webhook bodies, ``parse_json()`` in expressions, events
read from Kafka, ``linkflow run --input``) may nest at most ``MAX_JSON_DEPTH`` levels: deeper
ones are refused before they are parsed, because Python's parser, its encoder and pydantic's
serialiser each give up somewhere between 255 and ~1,000 levels, with a RecursionError or a 500.
An item a node outputs may nest ``MAX_ITEM_DEPTH`` levels, a little more, so a trigger can wrap
what it received (a webhook's body sits under ``json.body``) and the result can still be read
back through the API.

A stored value must be plain JSON: no NaN or Infinity (JSON has neither, PostgreSQL's JSONB
refuses them), no complex numbers, bytes, sets, dates or other objects, no NUL characters or
lone UTF-16 surrogates in text (PostgreSQL cannot store them). ``value_problem`` names the
first offending value by its path; ``check_items`` does the same for a node's output items.
"""

from __future__ import annotations

import itertools
import json
import math
import re
from datetime import date, datetime, time
from json.encoder import c_make_encoder, encode_basestring
from typing import Any

MAX_JSON_DEPTH = 200
MAX_ITEM_DEPTH = 240

_BRACKETS = frozenset(b"[]{}")
_NOT_STRUCTURE = bytes(b for b in range(256) if b not in _BRACKETS and b != ord('"'))
_STEP = [0] * 256
_STEP[ord("[")] = _STEP[ord("{")] = 1
_STEP[ord("]")] = _STEP[ord("}")] = -1
_SURROGATE = re.compile("[\ud800-\udfff]")
_ONE_KIND = bytes.maketrans(b"{}", b"[]")


class TooDeep(ValueError):
    """A JSON document nests deeper than allowed; ``depth`` is how deep it goes."""

    def __init__(self, depth: int, limit: int, what: str = "the JSON") -> None:
        self.depth, self.limit = depth, limit
        super().__init__(f"{what} is nested {depth:,} levels deep; at most {limit:,} levels are accepted")


def depth_over(text: str | bytes, limit: int = MAX_JSON_DEPTH) -> int | None:
    """The nesting depth of the JSON ``text`` if it is deeper than ``limit``, else None.

    Works on the text without parsing it, in a few passes of C string operations: a
    document with at most ``limit`` brackets stops at the first. Invalid JSON gives some
    number or None; the parser that runs next reports it.
    """
    if text.count("[" if isinstance(text, str) else b"[") + text.count("{" if isinstance(text, str) else b"{") <= limit:
        return None
    # What is left between quotes now is inside strings: "" (a string without brackets, or the join of
    # two strings with nothing between them) goes first, the rest is dropped by the split.
    structure = _structure(text).replace(b'""', b"")
    brackets = b"".join(structure.split(b'"')[::2]).translate(_ONE_KIND)  # matched pairs either way: [ and ]
    for _ in range(limit):  # each pass removes the innermost level, and only that: replace never re-scans
        shorter = brackets.replace(b"[]", b"")
        if not shorter or len(shorter) == len(brackets):
            return None
        brackets = shorter
    depth = max(itertools.accumulate(map(_STEP.__getitem__, brackets)), default=0)
    return depth + limit if depth > 0 else None


_SLICE = 1 << 20


def _structure(text: str | bytes) -> bytes:
    """The quotes and brackets of ``text`` that are not escaped, a slice at a time (big documents
    never exist in more than one full copy). A slice never ends inside an escape sequence."""
    pieces, start = [], 0
    while start < len(text):
        end = min(start + _SLICE, len(text))
        while end < len(text) and text[end - 1:end] in ("\\", b"\\"):
            end += 1
        chunk = text[start:end]
        data = chunk.encode("utf-8", "surrogatepass") if isinstance(chunk, str) else bytes(chunk)
        # Escaped backslashes, then escaped quotes: every quote left opens or closes a string.
        pieces.append(data.replace(b"\\\\", b"").replace(b'\\"', b"").translate(None, _NOT_STRUCTURE))
        start = end
    return b"".join(pieces)


def check_depth(text: str | bytes, limit: int = MAX_JSON_DEPTH, what: str = "the JSON") -> None:
    """Raise ``TooDeep`` if the JSON ``text`` nests deeper than ``limit``."""
    depth = depth_over(text, limit)
    if depth is not None:
        raise TooDeep(depth, limit, what)


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON (JSON has no NaN or Infinity); send a number or null")


def loads(text: str | bytes, *, limit: int = MAX_JSON_DEPTH, what: str = "the JSON") -> Any:
    """``json.loads`` that refuses documents deeper than ``limit`` (``TooDeep``) and NaN/Infinity.

    Raises ``ValueError`` (``json.JSONDecodeError``, ``TooDeep``) for anything it does not accept.
    """
    check_depth(text, limit, what)
    try:
        return json.loads(text, parse_constant=_refuse_constant)
    except RecursionError:  # unreachable within the limit; never let it escape as one
        raise TooDeep(limit + 1, limit, what) from None


# -- values that cannot be stored ---------------------------------------------------------------


def value_problem(value: Any, max_depth: int = MAX_ITEM_DEPTH) -> tuple[str, str] | None:
    """The first value that is not plain, storable JSON: (its path, what is wrong with it); or None.

    The path is like ``price`` or ``lines[2].sku`` (``""`` for ``value`` itself). Tuples count as
    lists and int, float, bool and None keys as text, as ``json.dumps`` writes them.
    """
    ancestors: list[int] = []  # ids of the containers above the value being looked at
    stack: list[tuple[Any, str, int]] = [(value, "", 0)]
    while stack:
        current, path, depth = stack.pop()
        if current is None or current is True or current is False:
            continue
        if isinstance(current, (dict, list, tuple)):
            if depth >= max_depth:
                return "", f"is nested more than {max_depth:,} levels deep; make it flatter"
            del ancestors[depth:]
            if id(current) in ancestors:
                return path, "contains itself (a circular reference), which JSON cannot hold"
            ancestors.append(id(current))
            stack.extend(reversed(_children(current, path, depth + 1)))
            continue
        problem = _text_problem(current) if isinstance(current, str) else _scalar_problem(current)
        if problem is not None:
            return path, problem
    return None


def _children(container: dict | list | tuple, path: str, depth: int) -> list[tuple[Any, str, int]]:
    if not isinstance(container, dict):
        return [(item, f"{path}[{index}]", depth) for index, item in enumerate(container)]
    children = []
    for key, item in container.items():
        if isinstance(key, str) and _text_problem(key) is None:
            children.append((item, _join(path, key), depth))
        elif isinstance(key, (bool, int)) or key is None or (isinstance(key, float) and math.isfinite(key)):
            children.append((item, _join(path, json.dumps(key)), depth))
        else:
            children.append((_Key(key), path, depth))
    return children


def _join(path: str, key: str) -> str:
    if key.isidentifier():
        return f"{path}.{key}" if path else key
    return f"{path}[{json.dumps(key, ensure_ascii=False)}]"


class _Key:
    """A dict key that is not storable text, found while walking: reported as such."""

    __slots__ = ("key",)

    def __init__(self, key: Any) -> None:
        self.key = key


def _text_problem(text: str) -> str | None:
    if "\x00" in text:
        return "contains a NUL character (\\u0000), which cannot be stored; remove it, e.g. with .replace()"
    if not text.isascii() and (surrogate := _SURROGATE.search(text)) is not None:
        return (f"contains a lone surrogate ({json.dumps(surrogate.group())}), which is not valid Unicode "
                "and cannot be stored")
    return None


def _scalar_problem(value: Any) -> str | None:
    if isinstance(value, _Key):
        key = value.key
        problem = _text_problem(key) if isinstance(key, str) else f"is {_kind(key)}; keys must be text"
        return f"has a key that {problem}"
    if isinstance(value, int):
        try:
            json.dumps(value)
        except ValueError:
            return f"is an integer with {value.bit_length():,} bits, too long to write as JSON text"
        return None
    if isinstance(value, float):
        if math.isnan(value):
            return "is NaN (not a number), which is not JSON; check for it, e.g. x if x == x else None"
        if math.isinf(value):
            sign = "-" if value < 0 else ""
            return f"is {sign}Infinity, which is not JSON; check the division or the number it came from"
        return None
    return f"is {_kind(value)}, which is not JSON; {_advice(value)}"


def _kind(value: Any) -> str:
    """A value described without its repr (a repr may show a memory address or a class path)."""
    if isinstance(value, complex):
        return f"a complex number ({value})"
    if isinstance(value, (bytes, bytearray)):
        return f"bytes ({len(value):,} bytes)"
    if isinstance(value, (set, frozenset)):
        return f"a set ({len(value):,} elements)"
    if isinstance(value, datetime):
        return f"a datetime ({value.isoformat()})"
    if isinstance(value, (date, time)):
        return f"a {type(value).__name__} ({value.isoformat()})"
    if isinstance(value, (int, float, str)):
        return f"{type(value).__name__} {value!r}"
    return f"an object of type {type(value).__name__}"


def _advice(value: Any) -> str:
    if isinstance(value, complex):
        return "a negative number to a fractional power gives one: use abs() or check the sign first"
    if isinstance(value, (bytes, bytearray)):
        return "decode it to text, or store it as binary data"
    if isinstance(value, (set, frozenset)):
        return "make it a list"
    if isinstance(value, (datetime, date, time)):
        return "write it as text, e.g. with .isoformat()"
    return "convert it to text, a number, a list or an object"


def _is_plain(text: str) -> bool:
    """True if ``text`` (``json.dumps`` output, ``ensure_ascii=False``) can hold no NUL or lone surrogate."""
    return "\\u0000" not in text and (text.isascii() or _SURROGATE.search(text) is None)


def _not_serializable(value: Any) -> Any:
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


# json.dumps builds an encoder for every call (a few microseconds); this hot path builds one, once.
_ENCODER = json.JSONEncoder(allow_nan=False, ensure_ascii=False, check_circular=False)
_C_ENCODER = c_make_encoder and c_make_encoder(None, _not_serializable, encode_basestring, None, ": ", ", ",
                                               False, False, False)


def strict_text(value: Any) -> str:
    """``json.dumps(value, allow_nan=False, ensure_ascii=False)``: TypeError or ValueError for non-JSON."""
    if _C_ENCODER is None:
        return _ENCODER.encode(value)
    return "".join(_C_ENCODER(value, 0))


class NotJson(ValueError):
    """Output items that cannot be stored; the message names the item and the field at fault."""


def encode_items(items: list, max_depth: int = MAX_ITEM_DEPTH) -> str:
    """The JSON text of a list of output items, or ``NotJson`` naming the first value at fault.

    The check is the encoding: one strict ``json.dumps`` in C and a bracket count, and the text
    is there for a store to reuse. Only a list that fails it is walked to find the culprit.
    """
    try:
        text = strict_text(items)
    except (TypeError, ValueError, RecursionError) as exc:
        text, failure = None, f"{type(exc).__name__}: {exc}"
    if text is not None and _is_plain(text) and _shallow(text, len(items), max_depth):
        return text
    problem = items_problem(items, max_depth)
    if problem is not None:
        raise NotJson(problem)
    if text is None:  # json.dumps refused something the walk did not find: say what it said
        raise NotJson(f"the items are not JSON ({failure})")
    return text  # the quick look flagged text that only looks like a NUL escape


def _shallow(text: str, count: int, max_depth: int) -> bool:
    """True if the JSON text of ``count`` items nests no deeper than an item's json may.

    Cheap bound first: the list, each item and each item's json are 2n + 1 containers; every other
    one adds at most a level, so few brackets beyond those mean shallow items, however many.
    """
    extra = text.count("[") + text.count("{") - (2 * count + 1)
    return 3 + extra <= max_depth + 2 or depth_over(text, max_depth + 2) is None


def items_problem(items: list, max_depth: int = MAX_ITEM_DEPTH) -> str | None:
    """Why a list of output items cannot be stored (naming the item and the field), or None."""
    for index, item in enumerate(items):
        data = item.get("json") if isinstance(item, dict) else item
        found = value_problem(data, max_depth)
        if found is not None:
            path, problem = found
            return f"`{path}` in item {index} {problem}" if path else f"the json of item {index} {problem}"
        rest = {key: part for key, part in item.items() if key != "json"} if isinstance(item, dict) else {}
        found = value_problem(rest, max_depth)
        if found is not None:
            return f"`{found[0]}` of item {index} {found[1]}"
    return None
