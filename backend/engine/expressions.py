"""``{{ expression }}`` templates in node parameters, evaluated safely.

An expression is a small Python-like language: literals, arithmetic, comparisons,
``and/or/not``, ``x if c else y``, subscripts, slices, ``.key`` access on dicts and
calls to the whitelisted functions and methods of ``expression_functions``.
Variables start with ``$``: ``$json``, ``$item_index``, ``$input``, ``$node["Name"]``,
``$vars``, ``$execution`` (id, mode, resume_url), ``$workflow``, ``$now`` and ``$today``.

Security model: the source is parsed with ``ast.parse`` and the tree is walked by
our own interpreter; nothing is compiled or passed to ``eval``. A tree is checked
once (then cached) against an explicit whitelist of node types, names and
attributes; evaluation is bounded by a step budget, a wall-clock deadline and
size limits on every value that could grow.

``$name`` is not valid Python, so before parsing ``$name`` (outside string
literals) is rewritten to the reserved identifier ``DOLLAR_name``. Identifiers
that the user wrote themselves and that start with ``DOLLAR_`` are refused, and
every ``DOLLAR_`` name in the tree must sit exactly where the rewrite put one.
"""

from __future__ import annotations

import ast
import builtins
import functools
import json
import math
import re
import time
import unicodedata
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from backend.engine.expression_functions import (
    COMPARISONS,
    DATE_ADD_UNITS,
    FUNCTIONS,
    KEYWORD_FUNCTIONS,
    METHOD_NAMES,
    ExpressionError,
    NodeAccessor,
    OperandTypeError,
    binary_op,
    call_method,
    check_length,
    current_time,
    get_attribute,
    measure,
    short,
    subscript,
    to_text,
    type_name,
    zone,
)
from backend.engine.expression_messages import (
    compare_error,
    missing_parent,
    operand_error,
    unary_error,
    zero_division,
)

__all__ = [
    "ExpressionContext",
    "ExpressionError",
    "check",
    "evaluate",
    "has_expression",
    "render",
    "resolve_parameters",
]

MAX_SOURCE_LEN = 10_000
MAX_DEPTH = 50
MAX_STEPS = 10_000_000  # 1 per AST node visited + 1 per element/character built or processed
_CHECK_EVERY = 64  # steps between two looks at the clock
MAX_PARAMETER_DEPTH = 100
DOLLAR = "DOLLAR_"
_SHORT_LEN = 1_000  # expressions up to this length go to the big parse cache
_MAX_CACHED_TEMPLATE = 20_000  # longer templates are split every time instead of cached


@dataclass
class ExpressionContext:
    """Everything an expression can see while one item of one node is processed."""

    json: dict
    item_index: int = 0
    input: list = field(default_factory=list)  # all input items: [{"json": {...}}, ...]
    nodes: dict[str, list[dict]] = field(default_factory=dict)  # node name -> output items
    vars: dict = field(default_factory=dict)
    execution: dict = field(default_factory=dict)  # {"id": ..., "mode": ...}
    workflow: dict = field(default_factory=dict)  # {"id": ..., "name": ...}
    now: datetime | None = None  # None: the clock; naive: UTC
    timezone: str = "UTC"
    time_limit_s: float = 1.0


# -- parsing -------------------------------------------------------------------------------------

_STRING = r"""'''(?:[^\\]|\\.)*?'''|\"\"\"(?:[^\\]|\\.)*?\"\"\"|'(?:[^'\\\n]|\\.)*'|"(?:[^"\\\n]|\\.)*\""""
_SOURCE_TOKEN = re.compile(
    rf"(?P<string>{_STRING})|(?P<comment>#[^\n]*)|(?P<quote>['\"])|\$(?P<var>[^\W\d]\w*)|(?P<name>[^\W\d]\w*)|(?P<bracket>[()\[\]{{}}])",
    re.DOTALL,
)
_TEMPLATE_TOKEN = re.compile(rf"{_STRING}|\}}\}}|[{{}}]", re.DOTALL)


_PYTHON_TYPE_PATH = re.compile(r"\b(?:datetime|zoneinfo)\.(\w+)")


_NOT_SUPPORTED = re.compile(r"'(\S+)' not supported between instances of '(\w+)' and '(\w+)'")
_TYPE_WORDS = {"str": "a text", "int": "a number", "float": "a number", "NoneType": "a missing value (None)",
               "list": "a list", "tuple": "a list", "dict": "an object", "bool": "a boolean"}


def _python_message(exc: Exception) -> str:
    """An error Python raised inside an operation, worded without module paths of its types."""
    text = _PYTHON_TYPE_PATH.sub(r"\1", str(exc)) or type(exc).__name__
    match = _NOT_SUPPORTED.search(text)
    if match:  # e.g. sorted() or max() of mixed values
        symbol, left, right = match.groups()
        words = [_TYPE_WORDS.get(name, f"a {name}") for name in (left, right)]
        return f"cannot compare {words[0]} with {words[1]} using {symbol}; the values must be of one kind"
    return text


def _line_col(text: str, offset: int) -> tuple[int, int]:
    """(line, UTF-8 column) of ``offset``, as ``ast`` reports positions."""
    line_start = text.rfind("\n", 0, offset) + 1
    return text.count("\n", 0, offset) + 1, len(text[line_start:offset].encode("utf-8"))


def _check_identifier(name: str) -> None:
    normal = name if name.isascii() else unicodedata.normalize("NFKC", name)
    if normal.startswith(DOLLAR):
        raise ExpressionError(f"names starting with {DOLLAR!r} are reserved: {name!r}")


def _rewrite(source: str) -> tuple[str, frozenset]:
    """``$name`` -> ``DOLLAR_name`` outside string literals; returns the text and the rewrite positions."""
    pieces, offsets, last, length, depth = [], [], 0, 0, 0
    for match in _SOURCE_TOKEN.finditer(source):
        kind = match.lastgroup
        if kind == "quote":  # an unterminated string: the parser will report it
            break
        if kind == "name":
            _check_identifier(match.group())
        elif kind == "bracket":
            depth += 1 if match.group() in "([{" else -1
            if depth > MAX_DEPTH:
                raise ExpressionError(f"expression is nested too deeply (more than {MAX_DEPTH} levels)")
        elif kind == "var":
            pieces.append(source[last : match.start()])
            length += match.start() - last
            offsets.append(length)
            pieces.append(DOLLAR + match.group("var"))
            length += len(pieces[-1])
            last = match.end()
    pieces.append(source[last:])
    text = "".join(pieces)
    return text, frozenset(_line_col(text, offset) for offset in offsets)


def _parse(expr: str) -> ast.expr:
    expr = expr.replace("\r\n", "\n").replace("\r", "\n").strip()
    if len(expr) > MAX_SOURCE_LEN:
        raise ExpressionError(
            f"expression is too long ({len(expr):,} characters; the limit is {MAX_SOURCE_LEN:,})"
        )
    if not expr:
        raise ExpressionError("expression is empty")
    source, positions = _rewrite(expr)
    try:
        tree = ast.parse(source, mode="eval")
    except SyntaxError as exc:
        raise ExpressionError(f"invalid expression {short(expr)}: {exc.msg}") from None
    except (RecursionError, MemoryError):
        raise ExpressionError(f"expression is nested too deeply (more than {MAX_DEPTH} levels)") from None
    except ValueError as exc:  # e.g. a null byte
        raise ExpressionError(f"invalid expression: {exc}") from None
    _Validator(positions).check(tree.body)
    return tree.body


def _parse_or_error(expr: str) -> tuple[ast.expr | None, str | None]:
    """Parsed tree or error message; errors are cached too (the same bad template fails every item)."""
    try:
        return _parse(expr), None
    except ExpressionError as exc:
        return None, str(exc)


# A tree takes roughly 125 bytes per source character: keep many short ones, few long ones.
_parse_short = functools.lru_cache(maxsize=1024)(_parse_or_error)
_parse_long = functools.lru_cache(maxsize=32)(_parse_or_error)


def _compile(expr: str) -> ast.expr:
    if not isinstance(expr, str):
        raise ExpressionError(f"an expression must be a string, got {type_name(expr)}")
    if len(expr) > 2 * MAX_SOURCE_LEN:  # refused as too long: not worth a cache entry
        return _parse(expr)
    tree, error = (_parse_short if len(expr) <= _SHORT_LEN else _parse_long)(expr)
    if error is not None:
        raise ExpressionError(error)
    return tree


# -- validation ----------------------------------------------------------------------------------

_VARIABLES = frozenset(
    {"json", "item_index", "input", "node", "vars", "execution", "workflow", "now", "today"}
)
_NO_CHECK = (
    ast.Load,
    ast.BinOp,
    ast.UnaryOp,
    ast.BoolOp,
    ast.Compare,
    ast.IfExp,
    ast.List,
    ast.Tuple,
    ast.Add,
    ast.Sub,
    ast.Mult,
    ast.Div,
    ast.FloorDiv,
    ast.Mod,
    ast.Pow,
    ast.USub,
    ast.UAdd,
    ast.Not,
    ast.And,
    ast.Or,
    ast.Eq,
    ast.NotEq,
    ast.Lt,
    ast.LtE,
    ast.Gt,
    ast.GtE,
    ast.In,
    ast.NotIn,
    ast.Is,
    ast.IsNot,
)
_DESCRIPTIONS = {
    "Lambda": "lambda",
    "ListComp": "a list comprehension",
    "SetComp": "a set comprehension",
    "DictComp": "a dict comprehension",
    "GeneratorExp": "a generator expression",
    "NamedExpr": "assignment (:=)",
    "JoinedStr": "an f-string",
    "FormattedValue": "an f-string",
    "Starred": "star unpacking (*)",
    "Set": "a set literal",
    "Await": "await",
    "Yield": "yield",
    "YieldFrom": "yield",
    "BitOr": "operator |",
    "BitAnd": "operator &",
    "BitXor": "operator ^",
    "LShift": "operator <<",
    "RShift": "operator >>",
    "Invert": "operator ~",
    "MatMult": "operator @",
}
_CONSTANT_TYPES = (str, int, float, bool, type(None))
_NODE = DOLLAR + "node"
_NODE_USE = '$node["Name"] must be followed by .json or .items, e.g. $node["Fetch"].json.id'
_MEMBERSHIP = (ast.In, ast.NotIn)


class _Validator:
    """Checks a parsed tree once, before it is cached: only whitelisted nodes, names and attributes."""

    def __init__(self, positions: frozenset) -> None:
        self.positions = positions

    def check(self, root: ast.expr) -> None:
        stack = [(root, 1, None)]
        while stack:  # iterative: a deep tree must give a clear error, not a RecursionError
            node, depth, parent = stack.pop()
            if depth > MAX_DEPTH:
                raise ExpressionError(f"expression is nested too deeply (more than {MAX_DEPTH} levels)")
            self._check_node(node, parent)
            for child in ast.iter_child_nodes(node):
                stack.append((child, depth + isinstance(child, ast.expr), node))

    def _check_node(self, node: ast.AST, parent: ast.AST | None) -> None:
        if isinstance(node, _NO_CHECK):
            return
        check = _CHECKS.get(type(node))
        if check is None:
            name = type(node).__name__
            raise ExpressionError(f"{_DESCRIPTIONS.get(name, name)} is not allowed in expressions")
        check(self, node, parent)

    def check_constant(self, node: ast.Constant, parent: ast.AST | None) -> None:
        if not isinstance(node.value, _CONSTANT_TYPES):
            raise ExpressionError(f"a {type(node.value).__name__} literal is not allowed in expressions")

    def check_name(self, node: ast.Name, parent: ast.AST | None) -> None:
        name = node.id
        if name.startswith(DOLLAR):
            if (node.lineno, node.col_offset) not in self.positions:
                raise ExpressionError(f"names starting with {DOLLAR!r} are reserved: {name!r}")
            if name[len(DOLLAR) :] not in _VARIABLES:
                known = ", ".join("$" + v for v in sorted(_VARIABLES))
                raise ExpressionError(f"unknown variable ${name[len(DOLLAR) :]} (available: {known})")
            if name == _NODE and not (isinstance(parent, ast.Subscript) and parent.value is node):
                if isinstance(parent, ast.Attribute) and parent.value is node:
                    raise ExpressionError(f'use $node["{parent.attr}"].json to read the output of a node')
                raise ExpressionError(_NODE_USE)
        elif name.startswith("_"):
            raise ExpressionError(f"names starting with '_' are not allowed: {name!r}")
        elif name in FUNCTIONS:
            if not (isinstance(parent, ast.Call) and parent.func is node):
                raise ExpressionError(f"function '{name}' must be called, e.g. {name}(...)")
        elif hasattr(builtins, name):
            raise ExpressionError(f"'{name}' is not allowed in expressions")
        else:
            raise ExpressionError(f"name '{name}' is not defined (variables start with $, e.g. $json)")

    def check_attribute(self, node: ast.Attribute, parent: ast.AST | None) -> None:
        if node.attr.startswith("_"):
            raise ExpressionError(f"attribute names starting with '_' are not allowed: '.{node.attr}'")
        if isinstance(parent, ast.Call) and parent.func is node and node.attr not in METHOD_NAMES:
            raise ExpressionError(f"method '.{node.attr}()' is not allowed in expressions")

    def check_call(self, node: ast.Call, parent: ast.AST | None) -> None:
        func = node.func
        if isinstance(func, ast.Name) and func.id not in FUNCTIONS:
            shown = "$" + func.id[len(DOLLAR) :] if func.id.startswith(DOLLAR) else func.id
            raise ExpressionError(f"calling '{shown}' is not allowed in expressions")
        if not isinstance(func, (ast.Name, ast.Attribute)):
            raise ExpressionError("only whitelisted functions and methods can be called in expressions")
        for keyword in node.keywords:
            if not (isinstance(func, ast.Name) and func.id in KEYWORD_FUNCTIONS):
                raise ExpressionError("keyword arguments are only allowed for date_add(...)")
            if keyword.arg not in DATE_ADD_UNITS:
                raise ExpressionError(f"date_add() accepts only {', '.join(sorted(DATE_ADD_UNITS))}=")

    def check_keyword(self, node: ast.keyword, parent: ast.AST | None) -> None:
        """Checked by the enclosing Call."""

    def check_dict(self, node: ast.Dict, parent: ast.AST | None) -> None:
        if any(key is None for key in node.keys):
            raise ExpressionError("** unpacking is not allowed in expressions")

    def check_subscript(self, node: ast.Subscript, parent: ast.AST | None) -> None:
        """``$node[...]`` is only a way to ``.json`` or ``.items``: its helper objects never become values."""
        value = node.value
        if isinstance(value, ast.Name) and value.id == _NODE and not (
            isinstance(parent, ast.Attribute) and parent.value is node and parent.attr in ("json", "items")
        ):
            raise ExpressionError(_NODE_USE)

    def check_slice(self, node: ast.Slice, parent: ast.AST | None) -> None:
        if not (isinstance(parent, ast.Subscript) and parent.slice is node):
            raise ExpressionError("a slice is only allowed directly inside [...]")


_CHECKS = {  # the node types allowed besides _NO_CHECK, each with its check
    ast.Constant: _Validator.check_constant,
    ast.Name: _Validator.check_name,
    ast.Attribute: _Validator.check_attribute,
    ast.Call: _Validator.check_call,
    ast.keyword: _Validator.check_keyword,
    ast.Dict: _Validator.check_dict,
    ast.Slice: _Validator.check_slice,
    ast.Subscript: _Validator.check_subscript,
}


# -- evaluation ----------------------------------------------------------------------------------


class _Evaluator:
    """Walks a validated tree. One instance per evaluate()/render() call: it owns the budgets."""

    __slots__ = ("ctx", "steps", "next_check", "deadline", "_now")

    def __init__(self, ctx: ExpressionContext) -> None:
        self.ctx = ctx
        self.steps = 0
        self.next_check = _CHECK_EVERY
        self.deadline = time.perf_counter() + ctx.time_limit_s
        self._now: datetime | None = None

    def charge(self, units: int) -> None:
        """Count ``units`` of work; stop when the step budget or the deadline is exceeded."""
        self.steps += units
        if self.steps >= self.next_check:
            self._check_limits()

    def _check_limits(self) -> None:
        if self.steps > MAX_STEPS:
            raise ExpressionError(f"expression is too expensive (more than {MAX_STEPS:,} steps)")
        if time.perf_counter() > self.deadline:
            raise ExpressionError(f"expression took longer than {self.ctx.time_limit_s:g} s")
        self.next_check = min(self.steps + _CHECK_EVERY, MAX_STEPS + 1)

    def built(self, value: Any) -> Any:
        """Charge (and size-check) a value the expression has just built."""
        self.charge(measure(value))
        return value

    @property
    def tz(self) -> Any:
        return zone(self.ctx.timezone)

    def now(self) -> datetime:
        if self._now is None:
            self._now = current_time(self.ctx.now, self.ctx.timezone)
        return self._now

    def run(self, tree: ast.expr) -> Any:
        try:
            result = self.eval(tree)
        except ExpressionError:
            raise
        except RecursionError:
            raise ExpressionError("a value is nested too deeply") from None
        except (TypeError, ValueError, ArithmeticError, LookupError) as exc:
            raise ExpressionError(_python_message(exc)) from None
        if isinstance(result, float) and not math.isfinite(result):
            shown = "NaN (not a number)" if math.isnan(result) else f"{'-' if result < 0 else ''}Infinity"
            raise ExpressionError(f"the result is {shown}, which JSON cannot hold; check the division or the "
                                  "number it came from (they may be used in between, not as the result)")
        return result

    def eval(self, node: ast.AST) -> Any:
        self.steps += 1
        if self.steps >= self.next_check:
            self._check_limits()
        return _HANDLERS[node.__class__](self, node)

    def constant(self, node: ast.Constant) -> Any:
        return node.value

    def name(self, node: ast.Name) -> Any:
        return _VARIABLE_GETTERS[node.id](self)

    def binop(self, node: ast.BinOp) -> Any:
        left, right = self.eval(node.left), self.eval(node.right)
        try:
            result = binary_op(node.op.__class__, left, right)
        except OperandTypeError:
            raise ExpressionError(operand_error(node.op.__class__, (node.left, node.right), (left, right),
                                                self.ctx.item_index)) from None
        except ZeroDivisionError:
            raise ExpressionError(zero_division(node.right, self.ctx.item_index)) from None
        return self.built(result) if isinstance(result, (str, list, tuple)) else result

    def unaryop(self, node: ast.UnaryOp) -> Any:
        value = self.eval(node.operand)
        if isinstance(node.op, ast.Not):
            return not value
        if not isinstance(value, (int, float)):
            sign = "-" if isinstance(node.op, ast.USub) else "+"
            raise ExpressionError(unary_error(sign, node.operand, value, self.ctx.item_index))
        return -value if isinstance(node.op, ast.USub) else +value

    def boolop(self, node: ast.BoolOp) -> Any:
        is_and = isinstance(node.op, ast.And)
        for operand in node.values:
            value = self.eval(operand)
            if is_and != bool(value):  # `and` stops at a false value, `or` at a true one
                return value
        return value

    def compare(self, node: ast.Compare) -> bool:
        left, left_node = self.eval(node.left), node.left
        for op, operand in zip(node.ops, node.comparators, strict=True):
            right = self.eval(operand)
            if isinstance(right, (list, tuple)) or (isinstance(right, str) and isinstance(op, _MEMBERSHIP)):
                self.charge(len(right))  # `in` and list comparisons walk the right-hand side
            try:
                if not COMPARISONS[op.__class__](left, right):
                    return False
            except TypeError:
                raise ExpressionError(compare_error(_COMPARE_SYMBOLS[op.__class__], (left_node, operand),
                                                    (left, right), self.ctx.item_index)) from None
            left, left_node = right, operand
        return True

    def ifexp(self, node: ast.IfExp) -> Any:
        return self.eval(node.body) if self.eval(node.test) else self.eval(node.orelse)

    def subscript(self, node: ast.Subscript) -> Any:
        value = self.eval(node.value)
        index = node.slice
        if isinstance(index, ast.Slice):
            bounds = [
                None if part is None else self.eval(part) for part in (index.lower, index.upper, index.step)
            ]
            for bound in bounds:
                if bound is not None and not isinstance(bound, int):
                    raise ExpressionError(
                        f"slice bounds must be integers, got {type_name(bound)} {short(bound)}"
                    )
            return subscript(self._present(value, node.value, "[...]"), slice(*bounds))
        key = self.eval(index)
        return subscript(self._present(value, node.value, f"[{short(key, 30)}]"), key)

    def attribute(self, node: ast.Attribute) -> Any:
        return get_attribute(self._present(self.eval(node.value), node.value, f".{node.attr}"), node.attr)

    def _present(self, value: Any, node: ast.AST, what: str) -> Any:
        if value is None:
            raise ExpressionError(missing_parent(node, what, self.ctx.item_index))
        return value

    def call(self, node: ast.Call) -> Any:
        func = node.func
        if isinstance(func, ast.Attribute):
            receiver = self.eval(func.value)
            return self.built(call_method(self, receiver, func.attr, [self.eval(arg) for arg in node.args]))
        args = [self.eval(arg) for arg in node.args]
        kwargs = {keyword.arg: self.eval(keyword.value) for keyword in node.keywords}
        return self.built(FUNCTIONS[func.id](self, args, **kwargs))

    def list(self, node: ast.List) -> list:
        return self.built([self.eval(element) for element in node.elts])

    def tuple(self, node: ast.Tuple) -> tuple:
        return self.built(tuple(self.eval(element) for element in node.elts))

    def dict(self, node: ast.Dict) -> dict:
        pairs = zip(node.keys, node.values, strict=True)
        return self.built({self.eval(key): self.eval(value) for key, value in pairs})


_COMPARE_SYMBOLS = {ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">", ast.GtE: ">=", ast.Eq: "==", ast.NotEq: "!=",
                    ast.In: "in", ast.NotIn: "not in", ast.Is: "is", ast.IsNot: "is not"}
_HANDLERS = {
    ast.Constant: _Evaluator.constant,
    ast.Name: _Evaluator.name,
    ast.BinOp: _Evaluator.binop,
    ast.UnaryOp: _Evaluator.unaryop,
    ast.BoolOp: _Evaluator.boolop,
    ast.Compare: _Evaluator.compare,
    ast.IfExp: _Evaluator.ifexp,
    ast.Subscript: _Evaluator.subscript,
    ast.Attribute: _Evaluator.attribute,
    ast.Call: _Evaluator.call,
    ast.List: _Evaluator.list,
    ast.Tuple: _Evaluator.tuple,
    ast.Dict: _Evaluator.dict,
}
_VARIABLE_GETTERS = {
    DOLLAR + "json": lambda ev: ev.ctx.json,
    DOLLAR + "item_index": lambda ev: ev.ctx.item_index,
    DOLLAR + "input": lambda ev: ev.ctx.input,
    DOLLAR + "node": lambda ev: NodeAccessor(ev.ctx.nodes),
    DOLLAR + "vars": lambda ev: ev.ctx.vars,
    DOLLAR + "execution": lambda ev: ev.ctx.execution,
    DOLLAR + "workflow": lambda ev: ev.ctx.workflow,
    DOLLAR + "now": lambda ev: ev.now(),
    DOLLAR + "today": lambda ev: ev.now().replace(hour=0, minute=0, second=0, microsecond=0),
}


# -- public API ----------------------------------------------------------------------------------


def check(expr: str) -> None:
    """Raise ``ExpressionError`` if ``expr`` (without braces) would be refused, without evaluating it."""
    _compile(expr)


def syntax_error(template: str) -> str:
    """Why a parameter value's ``{{ }}`` cannot be evaluated whatever the data ("" when it can)."""
    split = _split_template_cached(template)
    if isinstance(split, str):
        return split
    for is_expression, text in split[0]:
        if is_expression:
            try:
                _compile(text)
            except ExpressionError as exc:
                return str(exc)
    return ""


def evaluate(expr: str, ctx: ExpressionContext) -> Any:
    """Evaluate the inside of one ``{{ }}`` and return the resulting value."""
    return _Evaluator(ctx).run(_compile(expr))


def _template_end(template: str, start: int) -> int:
    """Index of the ``}}`` closing the ``{{`` at ``start``; braces and strings inside are skipped."""
    depth, pos = 0, start + 2
    while True:
        match = _TEMPLATE_TOKEN.search(template, pos)
        if match is None:
            raise ExpressionError(f"'{{{{' at position {start} is never closed with '}}}}'")
        token = match.group()
        if token == "}}" and depth == 0:
            return match.start()
        if token[0] == "{":
            depth += 1
        elif token[0] == "}":  # `}` or the first half of `}}` closes an inner brace
            depth = max(depth - 1, 0)
            pos = match.start() + 1
            continue
        pos = match.end()


def _split_template(template: str) -> tuple[tuple[tuple[bool, str], ...], str | None] | str:
    """((is_expression, text), ...) and the expression if the template is just one; or an error."""
    parts, pos = [], 0
    try:
        while (start := template.find("{{", pos)) >= 0:
            end = _template_end(template, start)
            parts += [(False, template[pos:start]), (True, template[start + 2 : end])]
            pos = end + 2
    except ExpressionError as exc:
        return str(exc)
    parts.append((False, template[pos:]))
    meaningful = [part for part in parts if part[0] or part[1].strip()]
    single = meaningful[0][1] if len(meaningful) == 1 and meaningful[0][0] else None
    return tuple(part for part in parts if part[0] or part[1]), single


_split_template_cached = functools.lru_cache(maxsize=1024)(_split_template)


def render(template: str, ctx: ExpressionContext) -> Any:
    """Evaluate a parameter value: one ``{{ }}`` keeps its type, otherwise each is written into the text."""
    if not isinstance(template, str) or "{{" not in template:
        return template
    cacheable = len(template) <= _MAX_CACHED_TEMPLATE
    split = _split_template_cached(template) if cacheable else _split_template(template)
    if isinstance(split, str):
        raise ExpressionError(split)
    parts, single = split
    evaluator = _Evaluator(ctx)
    if single is not None:
        return evaluator.run(_compile(single))
    pieces, length = [], 0
    for is_expression, text in parts:
        piece = to_text(evaluator.run(_compile(text))) if is_expression else text
        length += len(piece)
        check_length(length, "", "rendered text")
        evaluator.charge(len(piece))
        pieces.append(piece)
    return "".join(pieces)


def _key_path(path: str, key: Any) -> str:
    if isinstance(key, str) and key.isidentifier():
        return f"{path}.{key}"
    return f"{path}[{json.dumps(str(key), ensure_ascii=False)}]"


def resolve_parameters(value: Any, ctx: ExpressionContext, path: str = "parameters") -> Any:
    """Render every string containing ``{{`` inside nested dicts/lists; errors name the JSON path.

    Containers are rebuilt; strings without ``{{`` and other values are reused as they are. The path is
    spelled out only when something fails (building it for every key was a third of the walk's time).
    """
    try:
        return _resolve(value, ctx, 0)
    except _Unresolved as failed:
        where = path
        for is_index, key in reversed(failed.steps):
            where = f"{where}[{key}]" if is_index else _key_path(where, key)
        raise ExpressionError(f"{where}: {failed.message}") from failed.cause


class _Unresolved(Exception):  # noqa: N818 - carries the failure out of the walk, collecting its path
    def __init__(self, message: str, cause: BaseException | None) -> None:
        self.message, self.cause = message, cause
        self.steps: list[tuple[bool, Any]] = []  # innermost first: (is a list index, key or index)


def _resolve(value: Any, ctx: ExpressionContext, depth: int) -> Any:
    if isinstance(value, str):
        if "{{" not in value:
            return value
        try:
            return render(value, ctx)
        except ExpressionError as exc:
            raise _Unresolved(str(exc), exc) from None
    if isinstance(value, (dict, list, tuple)) and depth >= MAX_PARAMETER_DEPTH:
        raise _Unresolved(f"parameters are nested too deeply (more than {MAX_PARAMETER_DEPTH} levels)", None)
    if isinstance(value, dict):
        resolved = {}
        for key, item in value.items():
            try:
                resolved[key] = _resolve(item, ctx, depth + 1)
            except _Unresolved as failed:
                failed.steps.append((False, key))
                raise
        return resolved
    if isinstance(value, (list, tuple)):
        items = []
        for index, item in enumerate(value):
            try:
                items.append(_resolve(item, ctx, depth + 1))
            except _Unresolved as failed:
                failed.steps.append((True, index))
                raise
        return items if isinstance(value, list) else tuple(items)
    return value


def has_expression(value: Any) -> bool:
    """True if ``value`` is, or contains (in dict values / list items), a string with ``{{``."""
    stack = [value]
    while stack:
        current = stack.pop()
        if isinstance(current, str):
            if "{{" in current:
                return True
        elif isinstance(current, dict):
            stack.extend(current.values())
        elif isinstance(current, (list, tuple)):
            stack.extend(current)
    return False
