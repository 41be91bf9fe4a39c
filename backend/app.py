"""The HTTP application: health, readiness, metrics and every service router."""

from __future__ import annotations

import os

from fastapi import APIRouter, Depends, FastAPI, Request
from starlette.routing import Match

from backend import errors, metrics, tracing
from backend.admin import api as admin_api
from backend.analytics import api as analytics_api
from backend.audit import api as audit_api
from backend.auth import api as auth_api
from backend.auth import api_keys_api, oauth_api, two_factor_api
from backend.auth.ratelimit import RateLimitMiddleware
from backend.auth.throttle import SigninThrottle
from backend.billing import api as billing_api
from backend.credentials import api as credentials_api
from backend.executions import api as executions_api
from backend.expressions import api as expressions_api
from backend.health import health, ready, runs_code_here
from backend.input_guard import JsonDepthGuard, refuse_unstorable_input
from backend.node_registry import api as node_registry_api
from backend.notifications import api as notifications_api
from backend.notifications import inbox_api as notifications_inbox_api
from backend.notifications import rules_api as notifications_rules_api
from backend.observability import MetricsMiddleware, metrics_endpoint
from backend.search import api as search_api
from backend.settings import get_settings
from backend.storage import api as storage_api
from backend.templates import api as templates_api
from backend.users import api as users_api
from backend.users import teams_api
from backend.variables import api as variables_api
from backend.webhooks import api as webhooks_api
from backend.webhooks import test_events as webhook_test_events_api
from backend.webhooks.express import WebhookExpress
from backend.webhooks.origin import WebhookOrigin
from backend.workflows import api as workflows_api

# Service routers, mounted under /api/v1. One list: a new service adds its router here.
SERVICE_ROUTERS: list[APIRouter] = []
SERVICE_ROUTERS += [auth_api.router, oauth_api.router, users_api.router, teams_api.router, api_keys_api.router]
SERVICE_ROUTERS += [two_factor_api.router]
SERVICE_ROUTERS += [workflows_api.router, executions_api.router, node_registry_api.router,
                    variables_api.router]
SERVICE_ROUTERS += [credentials_api.router]
SERVICE_ROUTERS += [audit_api.router, admin_api.router]
SERVICE_ROUTERS += [notifications_api.router, notifications_inbox_api.router, notifications_rules_api.router]
SERVICE_ROUTERS += [expressions_api.router, webhook_test_events_api.router]
SERVICE_ROUTERS += [billing_api.router, billing_api.admin_router]
SERVICE_ROUTERS += [analytics_api.router]
SERVICE_ROUTERS += [storage_api.router]
SERVICE_ROUTERS += [search_api.router]
SERVICE_ROUTERS += [templates_api.router]


async def _unknown_api_path(request: Request, path: str) -> None:
    """No route took the request: 405 naming the allowed methods if the path exists, else 404."""
    routes = [r for r in request.app.router.routes if getattr(r, "endpoint", None) is not _unknown_api_path]
    allowed = [method for method in ("GET", "POST", "PUT", "PATCH", "DELETE")
               if any(r.matches({**request.scope, "method": method})[0] == Match.FULL for r in routes)]
    if allowed:
        raise errors.MethodNotAllowed(f"{request.method} is not allowed on /api/v1/{path}; use "
                                      f"{' or '.join(allowed)}", allowed)
    raise errors.NotFound(f"no API endpoint at /api/v1/{path}; see /api/v1/openapi.json")


def create_app() -> FastAPI:
    app = FastAPI(
        title="LinkFlow",
        version="0.1.0",
        openapi_url="/api/v1/openapi.json",
        docs_url="/api/v1/docs",
        redoc_url=None,
        # LinkFlow's own tracing (backend/tracing.py) and metrics (backend/observability.py) cover every
        # request; FastAPI's would only add spans twice, and its per-request check of the global providers
        # (reading os.environ) cost ~4 % of a webhook's time on the request loop.
        telemetry={"tracing": False, "metrics": False, "logs": False},
    )
    errors.install(app)
    app.state.signin_throttle = SigninThrottle.from_settings(get_settings())
    # API routes (not bare Starlette ones) so the metrics middleware sees the route template.
    app.add_api_route("/health", health, methods=["GET"], include_in_schema=False)
    app.add_api_route("/ready", ready, methods=["GET"], include_in_schema=False)
    app.add_api_route("/metrics", metrics_endpoint, methods=["GET"], include_in_schema=False)
    # Public webhook URLs (/webhook, /webhook-test, /webhook-waiting): at the root, no login. Before
    # the service routers: routes are tried in order, and webhooks are the hot path.
    app.include_router(webhooks_api.router)
    # Stripe's signed events: public, like /webhook, and outside /api/v1's per-IP rate limit
    app.include_router(billing_api.stripe_router, responses=errors.ERROR_RESPONSES)
    for router in SERVICE_ROUTERS:
        app.include_router(router, prefix="/api/v1", dependencies=[Depends(refuse_unstorable_input)],
                           responses=errors.ERROR_RESPONSES)
    # Unknown API paths answer JSON here instead of falling through to the UI's HTML 404.
    app.add_api_route("/api/v1/{path:path}", _unknown_api_path, include_in_schema=False,
                      methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
    app.add_middleware(JsonDepthGuard)  # /api/v1 only; inside the rate limit, so refused bodies are counted
    app.add_middleware(RateLimitMiddleware)  # /api/v1 only; inside metrics so 429s are counted
    app.add_middleware(WebhookExpress)  # /webhook/<path>: straight to its endpoint, inside metrics and tracing
    app.add_middleware(MetricsMiddleware)
    if tracing.configure(_tracing_role()):  # off by default: then not even the middleware is installed
        app.add_middleware(tracing.TracingMiddleware)
    # Outermost: which host answers webhooks, and the security headers of every webhook answer.
    app.add_middleware(WebhookOrigin)
    metrics.register_pool_collector()
    if runs_code_here():  # embedded: the one process, so it reports the backlog (scaled out: the api role)
        metrics.register_database_collector()
    return app


def _tracing_role() -> str:
    return os.environ.get("LINKFLOW_ROLES", "").split(",")[0] or "api"
