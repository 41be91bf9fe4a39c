"""Dramatiq broker chosen by settings: in-process (embedded) or Redis (scaled out)."""

from __future__ import annotations

import dramatiq
from dramatiq.brokers.stub import StubBroker

from backend.admin.queues import QUEUE_NAMESPACE
from backend.settings import Settings, get_settings

_broker: dramatiq.Broker | None = None


def make_broker(settings: Settings) -> dramatiq.Broker:
    from executors.tracing import dramatiq_middleware

    if settings.queue.backend == "redis":
        from dramatiq.brokers.redis import RedisBroker

        broker = RedisBroker(url=settings.redis_url, namespace=QUEUE_NAMESPACE)
    else:
        # In-process: messages live in memory only, so the database stays the source of truth
        # (queued executions are re-dispatched at start-up and by the reaper).
        broker = StubBroker()
    for middleware in dramatiq_middleware():  # none unless LINKFLOW_TRACING_ENABLED
        broker.add_middleware(middleware)
    return broker


def get_broker() -> dramatiq.Broker:
    """The process's broker; set explicitly, or Dramatiq would build a RabbitMQ one."""
    global _broker
    if _broker is None:
        _broker = make_broker(get_settings())
        dramatiq.set_broker(_broker)
    return _broker
