"""OpenTelemetry traces: one trace per execution, from webhook intake through the queue, the worker and
each node, and on into the events it caused.

Off by default (``LINKFLOW_TRACING_ENABLED``). Off, nothing is installed: no ASGI middleware, no Dramatiq
middleware, ``tracer()`` is None and every hook is one ``is None`` test. On, spans go in batches over
OTLP/HTTP to ``LINKFLOW_TRACING_OTLP_ENDPOINT`` (an OpenTelemetry collector, Jaeger, Tempo...).

Where the context travels (W3C ``traceparent``):
* HTTP in: the caller's ``traceparent`` header, if any, parents the request's server span.
* Dramatiq: ``message.options["trace_context"]``, written when the message is sent.
* Events: the outbox row's payload carries ``traceparent`` (written in the transaction of the change);
  on Kafka it travels as a record header, and each consumer's handling is a span of that trace.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterable, Iterator

from opentelemetry import context as otel_context
from opentelemetry import propagate, trace
from opentelemetry.trace import SpanKind, Status, StatusCode
from starlette.types import ASGIApp, Receive, Scope, Send

from backend.observability import route_template

log = logging.getLogger("linkflow.tracing")
TRACEPARENT = "traceparent"
UNTRACED_PATHS = frozenset({"/health", "/ready", "/metrics"})

_tracer: trace.Tracer | None = None
_provider = None


def tracer() -> trace.Tracer | None:
    """The process's tracer, or None when tracing is off (the one test every hook makes)."""
    return _tracer


def configure(role: str) -> bool:
    """Install the SDK once per process if ``LINKFLOW_TRACING_ENABLED``; the service is ``<name>-<role>``."""
    global _tracer, _provider
    from backend.settings import get_settings

    settings = get_settings().tracing
    if not settings.enabled or _tracer is not None:
        return _tracer is not None
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor
    from opentelemetry.sdk.trace.sampling import ParentBased, TraceIdRatioBased

    provider = TracerProvider(resource=Resource.create({"service.name": f"{settings.service_name}-{role}",
                                                        "service.namespace": "linkflow"}),
                              sampler=ParentBased(TraceIdRatioBased(settings.sample_ratio)))
    endpoint = settings.otlp_endpoint.rstrip("/") + "/v1/traces"
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=endpoint)))
    _provider, _tracer = provider, provider.get_tracer("linkflow")
    log.info("tracing on", extra={"otlp_endpoint": endpoint, "service": f"{settings.service_name}-{role}"})
    return True


def current_ids() -> tuple[str, str] | None:
    """(trace id, span id) in hex of the current span, for log lines; None when there is none."""
    context = trace.get_current_span().get_span_context()
    if not context.is_valid:
        return None
    return format(context.trace_id, "032x"), format(context.span_id, "016x")


def traceparent() -> str | None:
    """The current context as a W3C traceparent, or None (tracing off, or no span)."""
    if _tracer is None:
        return None
    carrier: dict[str, str] = {}
    propagate.inject(carrier)
    return carrier.get(TRACEPARENT)


def _context_of(value: str | None):
    return propagate.extract({TRACEPARENT: value}) if value else None


@contextlib.contextmanager
def attached(value: str | None) -> Iterator[None]:
    """Make a captured ``traceparent`` current: work done later and elsewhere (a batch sent from a thread)
    joins the trace of the request that caused it. A no-op when tracing is off or ``value`` is None."""
    if _tracer is None or not value:
        yield
        return
    token = otel_context.attach(propagate.extract({TRACEPARENT: value}))
    try:
        yield
    finally:
        otel_context.detach(token)


@contextlib.contextmanager
def consumer_span(service: str, topic: str, payload: dict) -> Iterator[None]:
    """A consumer handling one event: a child of the span that wrote the event, when it carries one."""
    if _tracer is None:
        yield
        return
    with _tracer.start_as_current_span(f"consume {topic}", context=_context_of(payload.get(TRACEPARENT)),
                                       kind=SpanKind.CONSUMER,
                                       attributes={"messaging.system": "kafka", "messaging.destination.name": topic,
                                                   "messaging.consumer.group.name": service,
                                                   "linkflow.event_id": str(payload.get("event_id"))}):
        yield


@contextlib.contextmanager
def consumer_spans(service: str, events: Iterable[tuple[str, dict]]) -> Iterator[None]:
    """A consumer handling a batch: one consumer span per (topic, payload), each a child of the span that wrote
    that event, all open while the batch is handled."""
    if _tracer is None:
        yield
        return
    with contextlib.ExitStack() as stack:
        for topic, payload in events:
            stack.enter_context(consumer_span(service, topic, payload))
        yield


def fail(span, exc: BaseException | str) -> None:
    span.set_status(Status(StatusCode.ERROR, str(exc)[:300]))


class TracingMiddleware:
    """A server span per HTTP request (not /health, /ready, /metrics), named by the matched route."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or _tracer is None or scope["path"] in UNTRACED_PATHS:
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"] if k == b"traceparent"}
        status = 500

        async def send_wrapper(message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        with _tracer.start_as_current_span(f"{scope['method']} {scope['path']}", context=propagate.extract(headers),
                                           kind=SpanKind.SERVER) as span:
            try:
                await self.app(scope, receive, send_wrapper)
            finally:
                route = route_template(scope)
                span.update_name(f"{scope['method']} {route}")
                span.set_attributes({"http.request.method": scope["method"], "url.path": scope["path"],
                                     "http.route": route, "http.response.status_code": status})
                if status >= 500:
                    span.set_status(Status(StatusCode.ERROR))
