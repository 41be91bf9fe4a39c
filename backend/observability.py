"""Prometheus metrics: request count and latency per route template."""

from __future__ import annotations

import gc
import logging
import threading
import time

from prometheus_client import CONTENT_TYPE_LATEST, Counter, Histogram, generate_latest
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from backend.foreground import request_finished, request_started

REQUESTS = Counter("linkflow_http_requests_total", "HTTP requests", ["method", "route", "status"])
LATENCY = Histogram(
    "linkflow_http_request_duration_seconds",
    "HTTP request latency",
    ["method", "route"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)


_children: dict[tuple, object] = {}


def labelled(metric, *labels: str):
    """The metric's child for these label values, looked up once (`labels()` takes a lock and builds its key
    anew each call): a count on the hot path is then a lock and an add. As many as the labels' values, which
    must stay few (route templates, statuses, node types: never ids)."""
    key = (id(metric), *labels)
    child = _children.get(key)
    if child is None:
        child = _children[key] = metric.labels(*labels)
    return child


class MetricsMiddleware:
    """Pure ASGI (no BaseHTTPMiddleware) so it adds microseconds, not a task per request."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status = 500
        started = time.perf_counter()
        request_started()  # background work on this loop gives way to it (backend/foreground.py)

        async def send_wrapper(message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            request_finished()
            method, route = scope["method"], route_template(scope)
            labelled(REQUESTS, method, route, str(status)).inc()
            labelled(LATENCY, method, route).observe(time.perf_counter() - started)


def route_template(scope: Scope) -> str:
    """The matched route's template, prefix included (``/api/v1/workflows/{workflow_id}``,
    ``/webhook/{path:path}``): bounded label cardinality, no ids in labels."""
    endpoint, app = scope.get("endpoint"), scope.get("app")
    if endpoint is not None and app is not None:
        template = _templates(app).get(endpoint)
        if template is not None:
            return template
    route = scope.get("route")
    return getattr(route, "path", None) or "other"  # UI pages, static files, Reflex internals


def _templates(app) -> dict:
    """endpoint -> full path template of every route, read once per app. FastAPI keeps an included
    router's prefix on a wrapper, so the route a request matched knows only its own part of the path."""
    state = getattr(app, "state", None)
    templates = getattr(state, "route_templates", None) if state is not None else None
    if templates is None:
        templates = {}
        _collect(getattr(getattr(app, "router", None), "routes", ()), "", templates)
        if state is not None:
            state.route_templates = templates
    return templates


def _collect(routes, prefix: str, into: dict) -> None:
    for route in routes:
        inner = getattr(route, "original_router", None)
        if inner is not None:
            context = getattr(route, "include_context", None)
            _collect(inner.routes, prefix + getattr(context, "prefix", ""), into)
        elif getattr(route, "endpoint", None) is not None and getattr(route, "path", None):
            into.setdefault(route.endpoint, prefix + route.path)


async def metrics_endpoint(_: Request) -> Response:
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)


def freeze_startup_heap() -> None:
    """Take what startup allocated (modules, ORM metadata, schemas, the app) out of the cyclic GC's scans.

    A full collection walks every tracked object: with the app loaded that is ~180,000 of them and
    50-150 ms with the GIL held, which showed up as tail latency of webhook calls and stalls of the
    worker threads. Objects made afterwards (requests, executions) are collected as before. Called
    once a process has finished starting; calling it again freezes what was added since.
    """
    gc.collect()
    gc.freeze()
    gc.enable()  # after pause_collection_for_startup()


STARTUP_BACKSTOP_S = 300.0


def pause_collection_for_startup(backstop_s: float = STARTUP_BACKSTOP_S) -> None:
    """Turn the cyclic collector off while a long-running role imports and builds its app;
    `freeze_startup_heap` turns it back on.

    Start-up makes ~200,000 objects that live as long as the process, and the collector walked them
    dozens of times while they were made: ~0.5 s of CPU of a ~3 s `linkflow up` start (issue #18:
    start in ≤ 3 s). Should a start-up path never reach `freeze_startup_heap`, a timer turns the
    collector back on after `backstop_s` (and says so).
    """
    gc.disable()
    timer = threading.Timer(backstop_s, _collect_again, args=(backstop_s,))
    timer.daemon = True
    timer.start()


def _collect_again(after_s: float) -> None:
    if not gc.isenabled():
        logging.getLogger("linkflow.observability").warning(
            "the garbage collector was still paused %g s after start-up began; turned back on", after_s)
        gc.enable()
