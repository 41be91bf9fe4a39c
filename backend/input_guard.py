"""Input refused at the API edge with a 422 instead of a driver error or a 500.

``JsonDepthGuard`` refuses a JSON body nested deeper than ``MAX_JSON_DEPTH`` before anything
parses it (Python's parser, FastAPI's encoder and pydantic each give up between 255 and ~1,000
levels, with a RecursionError). The router dependency below refuses values no database can
store: PostgreSQL text and JSONB hold neither NUL characters nor lone UTF-16 surrogates, and
JSON has no NaN or Infinity (Python's parser accepts them, and turns 1e400 into inf). SQLite
would store them, but the check is the same on every backend so the API behaves alike.
"""

from __future__ import annotations

import json
import math
import re

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from backend.errors import error_body
from backend.json_limits import MAX_JSON_DEPTH, depth_over

PREFIX = "/api/v1/"
_NOT_JSON = (b"multipart/form-data", b"application/x-www-form-urlencoded")


class JsonDepthGuard:
    """A pure ASGI middleware: a /api/v1 body nested too deeply gets a 422 before the app parses it.

    The body is read whole (FastAPI does so anyway before it calls an endpoint) and handed on
    as it came. Webhooks read and check their bodies themselves (backend/webhooks/intake.py),
    under their own size limit.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(PREFIX) or _not_json(scope):
            await self.app(scope, receive, send)
            return
        chunks, message = [], {"more_body": True}
        while message.get("more_body", False):
            message = await receive()
            if message["type"] != "http.request":  # the client went away: let the app see it
                await self.app(scope, _replay([message], receive), send)
                return
            chunks.append(message.get("body", b""))
        body = b"".join(chunks)
        depth = depth_over(body, MAX_JSON_DEPTH)
        if depth is not None:
            await _answer_422(send, f"the JSON body is nested {depth:,} levels deep; at most {MAX_JSON_DEPTH} "
                                "levels are accepted")
            return
        await self.app(scope, _replay([{"type": "http.request", "body": body, "more_body": False}], receive), send)


def _not_json(scope: Scope) -> bool:
    for name, value in scope["headers"]:
        if name == b"content-type":
            return value.split(b";")[0].strip().lower() in _NOT_JSON
    return False


def _replay(messages: list[Message], receive: Receive) -> Receive:
    async def replayed() -> Message:
        return messages.pop(0) if messages else await receive()

    return replayed


async def _answer_422(send: Send, message: str) -> None:
    body = json.dumps(error_body("validation_error", message, [{"loc": ["body"], "msg": message}])).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": 422, "headers": headers})
    await send({"type": "http.response.body", "body": body})

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
