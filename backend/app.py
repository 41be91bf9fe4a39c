"""The HTTP application: health, readiness, metrics and every service router."""

from __future__ import annotations

from fastapi import APIRouter, FastAPI

from backend import errors
from backend.health import health, ready
from backend.observability import MetricsMiddleware, metrics_endpoint

# Service routers, mounted under /api/v1. One list: a new service adds its router here.
SERVICE_ROUTERS: list[APIRouter] = []


async def _unknown_api_path(path: str) -> None:
    raise errors.NotFound(f"no API endpoint at /api/v1/{path}; see /api/v1/openapi.json")


def create_app() -> FastAPI:
    app = FastAPI(
        title="LinkFlow",
        version="0.1.0",
        openapi_url="/api/v1/openapi.json",
        docs_url="/api/v1/docs",
        redoc_url=None,
    )
    errors.install(app)
    # API routes (not bare Starlette ones) so the metrics middleware sees the route template.
    app.add_api_route("/health", health, methods=["GET"], include_in_schema=False)
    app.add_api_route("/ready", ready, methods=["GET"], include_in_schema=False)
    app.add_api_route("/metrics", metrics_endpoint, methods=["GET"], include_in_schema=False)
    for router in SERVICE_ROUTERS:
        app.include_router(router, prefix="/api/v1")
    # Unknown API paths answer JSON here instead of falling through to the UI's HTML 404.
    app.add_api_route("/api/v1/{path:path}", _unknown_api_path, include_in_schema=False,
                      methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
    app.add_middleware(MetricsMiddleware)
    return app
