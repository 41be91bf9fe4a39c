"""Trace context through the queue: the sender's context rides in ``message.options["trace_context"]``
(backend/tracing.py has the rest of the story). Added to the broker only when tracing is on."""

from __future__ import annotations

import dramatiq
from opentelemetry import context as otel_context
from opentelemetry import propagate, trace
from opentelemetry.trace import SpanKind

from backend import tracing


class DramatiqTracing(dramatiq.Middleware):
    """Carries the sender's context in ``message.options["trace_context"]``; the worker's processing of
    the message is a consumer span under it, current while the actor runs (its nodes are children)."""

    def __init__(self) -> None:
        self._open: dict[str, tuple] = {}  # message id -> (span, context token), per worker thread's message

    def before_enqueue(self, broker, message, delay) -> None:
        tracer = tracing.tracer()
        if tracer is None:
            return
        carrier: dict[str, str] = {}
        with tracer.start_as_current_span(f"send {message.queue_name}", kind=SpanKind.PRODUCER,
                                          attributes=_attributes(message)):
            propagate.inject(carrier)
        message.options["trace_context"] = carrier

    def before_process_message(self, broker, message) -> None:
        tracer = tracing.tracer()
        if tracer is None:
            return
        parent = propagate.extract(message.options.get("trace_context") or {})
        span = tracer.start_span(f"process {message.queue_name}", context=parent, kind=SpanKind.CONSUMER,
                                 attributes={**_attributes(message),
                                             "linkflow.execution_id": str((message.args or [""])[0])})
        token = otel_context.attach(trace.set_span_in_context(span))
        self._open[message.message_id] = (span, token)  # not in options: they are sent again on a retry

    def after_process_message(self, broker, message, *, result=None, exception=None) -> None:
        held = self._open.pop(message.message_id, None)
        if held is None:
            return
        span, token = held
        if exception is not None:
            tracing.fail(span, exception)
        otel_context.detach(token)
        span.end()

    after_skip_message = after_process_message


def _attributes(message) -> dict[str, str]:
    return {"messaging.system": "dramatiq", "messaging.destination.name": message.queue_name,
            "messaging.message.id": message.message_id}


def dramatiq_middleware() -> list[dramatiq.Middleware]:
    """What the broker adds: nothing when tracing is off."""
    from backend.settings import get_settings

    return [DramatiqTracing()] if get_settings().tracing.enabled else []
