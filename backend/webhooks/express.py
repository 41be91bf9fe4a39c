"""Production webhook calls straight to their endpoint, past the router and the framework's per-route layers.

`/webhook/<path>` is the hot path (issue #18). Through Starlette/FastAPI a call passed the exception
middleware, FastAPI's exit-stack middleware, the router's match over every route, the included router, and
the route's request/response wrapper before reaching `production_webhook`, which takes nothing but the
request. This middleware sits inside the metrics (and tracing) middleware and the webhook host check
(backend/app.py), so a call is counted, traced and secured as before. It answers a refusal (a user error,
an HTTP exception, a validation error) with `errors.refusal`, as the app's exception handlers do, and lets
anything else go up to the server-error middleware (a logged 500). Other paths, and methods the route does
not take, go on to the app.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from backend.errors import refusal
from backend.webhooks.api import METHODS, production_webhook

PREFIX = "/webhook/"
_METHODS = frozenset(METHODS)


class WebhookExpress:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in _METHODS or not scope["path"].startswith(PREFIX):
            await self.app(scope, receive, send)
            return
        scope["path_params"] = {"path": scope["path"][len(PREFIX):]}
        scope["endpoint"] = production_webhook  # the metrics' route template
        try:
            response = await production_webhook(Request(scope, receive, send))
        except Exception as exc:
            response = refusal(exc)
            if response is None:
                raise
        await response(scope, receive, send)
