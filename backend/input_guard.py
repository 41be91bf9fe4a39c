"""Input no database can store, refused at the API edge with a 422 instead of a driver error.

PostgreSQL text and JSONB hold neither NUL characters nor lone UTF-16 surrogates, and JSON
has no NaN or Infinity (Python's parser accepts them, and turns 1e400 into inf). SQLite
would store them, but the check is the same on every backend so the API behaves alike.
"""

from __future__ import annotations

import math
import re

from fastapi import Request
from fastapi.exceptions import RequestValidationError

# A JSON body without any of these bytes holds none of those values: most bodies stop here.
_SUSPECT = re.compile(rb"\\u0000|\\u[dD][89a-fA-F]|NaN|Infinity|[eE][+]?\d{3}|\d{300}")
Loc = tuple[str | int, ...]


async def refuse_unstorable_input(request: Request) -> None:
    """A router dependency: 422 if a path or query parameter, or a JSON body, holds such a value."""
    for name, value in request.path_params.items():
        _check_text(value, ("path", name))
    for name, value in request.query_params.multi_items():
        _check_text(name, ("query", name))
        _check_text(value, ("query", name))
    body = await request.body()
    if body and _SUSPECT.search(body):
        try:
            document = await request.json()  # parsed once: Starlette keeps it for the endpoint
        except ValueError:
            return  # not JSON: the endpoint's own parsing answers
        check_document(document)


def check_document(document: object, loc: Loc = ("body",)) -> None:
    """Raise RequestValidationError (a 422) at the first unstorable value of a parsed JSON document."""
    pending: list[tuple[object, Loc]] = [(document, loc)]  # no recursion: nesting may be deep
    while pending:
        value, loc = pending.pop()
        if isinstance(value, str):
            _check_text(value, loc)
        elif isinstance(value, float) and not math.isfinite(value):
            _refuse(loc, f"{value} is not a JSON number; send a finite number (at most about 1.8e308)")
        elif isinstance(value, dict):
            for key, item in value.items():
                _check_text(key, loc)
                pending.append((item, (*loc, key)))
        elif isinstance(value, list):
            pending.extend((item, (*loc, index)) for index, item in enumerate(value))


def _check_text(text: str, loc: Loc) -> None:
    if "\x00" in text:
        _refuse(loc, "text must not contain NUL characters (\\u0000); remove them")
    try:
        text.encode()
    except UnicodeEncodeError as exc:
        _refuse(loc, f"text must be valid Unicode; it holds a lone surrogate {text[exc.start]!r}")


def _refuse(loc: Loc, message: str) -> None:
    raise RequestValidationError([{"type": "value_error", "loc": loc, "msg": message}])
