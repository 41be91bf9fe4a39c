"""Embedded mode: the worker threads, reaper and relays run inside the web process."""

from __future__ import annotations

import asyncio
import contextlib
import logging

import dramatiq

from backend.events.consumers import registry

# Imported before the worker threads start (each imports it on its first message): two threads
# importing the engine package at once can see it half-made (ImportError of a name it defines).
from backend.executions import worker_runtime as _worker_runtime  # noqa: F401
from backend.listeners.runner import listener_loop
from backend.sandbox import check_at_startup, code_sandbox
from backend.settings import get_settings
from executors import actors
from executors.heartbeat import heartbeat_loop, worker_details
from executors.maintenance import maintenance_loop
from executors.pipeline_process import PipelineProcess, shares_the_database
from executors.relay import start_event_pipeline
from executors.scheduler import scheduler_loop

log = logging.getLogger("linkflow.embedded")
DRAIN_S = 5.0  # how long stopping waits for executions in flight


@contextlib.asynccontextmanager
async def run_embedded():
    settings = get_settings()
    if settings.events.pipeline == "process" and not shares_the_database():
        raise RuntimeError("LINKFLOW_EVENTS_PIPELINE=process needs a database another process can open; this one "
                           "is an in-memory SQLite. Use a file (LINKFLOW_DATABASE_URL=sqlite:///path) or "
                           "LINKFLOW_EVENTS_PIPELINE=inline")
    await asyncio.to_thread(check_at_startup)  # probe the Code node sandbox once, say what is wrong
    worker = dramatiq.Worker(actors.get_broker(), worker_threads=settings.queue.worker_threads)
    worker.start()
    stop = asyncio.Event()
    task = asyncio.create_task(maintenance_loop(stop, actors.enqueue, resend_queued_at_start=True))
    scheduler = asyncio.create_task(scheduler_loop(stop))
    listeners = asyncio.create_task(listener_loop(stop))  # Redis/Kafka triggers of active workflows
    pipeline_process = _pipeline_process(settings.events.pipeline)
    events = await start_event_pipeline("commands" if pipeline_process else "all")
    beat = asyncio.create_task(heartbeat_loop(stop, "embedded", worker_details(
        settings.queue.worker_threads, settings.queue.backend, scheduler=True,
        consumers=events.services if pipeline_process else sorted(registry()),
        code_sandbox=lambda: code_sandbox().status().summary())))
    log.info("embedded services started", extra={"worker_threads": settings.queue.worker_threads,
                                                  "event_pipeline": settings.events.pipeline})
    try:
        yield
    finally:
        stop.set()
        await task
        await scheduler
        await listeners
        await beat
        await events.stop()
        if pipeline_process is not None:
            await pipeline_process.stop()
        worker.stop(timeout=5000)
        await asyncio.to_thread(_worker_runtime.drain, DRAIN_S)  # the rest resume after their leases


def _pipeline_process(mode: str) -> PipelineProcess | None:
    """The event pipeline's own process when LINKFLOW_EVENTS_PIPELINE=process, started (on the loop's thread: the
    process dies with it)."""
    if mode != "process":
        return None
    child = PipelineProcess()
    child.start()
    return child
