"""The three kinds of error (user, transient, unexpected) and the one JSON error shape."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException

log = logging.getLogger("linkflow.api")


class UserError(Exception):
    """Bad input or configuration: shown to the user as is, never retried."""

    status_code = 400
    code = "bad_request"
    headers: dict[str, str] | None = None

    def __init__(self, message: str, details: object | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details


class NotFound(UserError):
    status_code = 404
    code = "not_found"


class Conflict(UserError):
    status_code = 409
    code = "conflict"


class Forbidden(UserError):
    status_code = 403
    code = "forbidden"


class Unauthorized(UserError):
    status_code = 401
    code = "unauthorized"
    headers = {"WWW-Authenticate": "Bearer"}  # RFC 7235: a 401 names the scheme to use


class MethodNotAllowed(UserError):
    status_code = 405
    code = "method_not_allowed"

    def __init__(self, message: str, allowed: list[str]) -> None:
        super().__init__(message, {"allowed": allowed})
        self.headers = {"Allow": ", ".join(allowed)}


class TransientError(Exception):
    """Timeouts, 5xx, lost connections: worth retrying with backoff."""


def error_body(code: str, message: str, details: object | None = None) -> dict:
    return {"error": {"code": code, "message": message, "details": details}}


class ErrorInfo(BaseModel):
    code: str
    message: str
    details: Any = None


class ErrorOut(BaseModel):
    """What error_body() makes: the body of every 4xx and 5xx answer."""

    error: ErrorInfo


# Documents the one error shape on every operation (it also replaces FastAPI's default 422 schema,
# which is not the shape the validation handler below answers).
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    "4XX": {"model": ErrorOut, "description": "Refused: `error.message` says what was wrong and what to do"}}


def refusal(exc: Exception) -> JSONResponse | None:
    """The JSON answer to a refused request (UserError, HTTPException, a validation error), or None for
    anything else. The app's exception handlers answer with it, and so does the webhook fast path
    (backend/webhooks/express.py), which does not pass the exception middleware."""
    if isinstance(exc, UserError):
        return JSONResponse(error_body(exc.code, exc.message, exc.details), status_code=exc.status_code,
                            headers=exc.headers)
    if isinstance(exc, HTTPException):
        code = {401: "unauthorized", 403: "forbidden", 404: "not_found", 405: "method_not_allowed",
                409: "conflict", 413: "payload_too_large", 429: "rate_limited"}.get(exc.status_code, "error")
        return JSONResponse(error_body(code, str(exc.detail)), status_code=exc.status_code,
                            headers=getattr(exc, "headers", None))
    if isinstance(exc, RequestValidationError):
        details = [{"loc": list(e.get("loc", ())), "msg": e.get("msg")} for e in exc.errors()]
        return JSONResponse(error_body("validation_error", "The request is invalid; see details.", details),
                            status_code=422)
    return None


async def _refused(_: Request, exc: Exception) -> JSONResponse:
    return refusal(exc)


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.exception("unexpected error", extra={"path": request.url.path})
    return JSONResponse(error_body("internal_error", "Something went wrong on our side; it was logged."),
                        status_code=500)


def install(app) -> None:
    for refused in (UserError, HTTPException, RequestValidationError):
        app.add_exception_handler(refused, _refused)
    app.add_exception_handler(Exception, _unexpected)
