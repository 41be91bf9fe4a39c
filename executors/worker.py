"""`linkflow worker`: a Dramatiq worker process plus the reaper, until SIGTERM."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal

import dramatiq

from backend import logging as lf_logging

# Imported before the worker threads start (each imports it on its first message): two threads
# importing the engine package at once can see it half-made (ImportError of a name it defines).
from backend.executions import worker_runtime as _worker_runtime  # noqa: F401
from backend.memory import keep_trimmed
from backend.observability import freeze_startup_heap
from backend.processes import STOP_LIMIT_S, exit_within
from backend.sandbox import check_at_startup, code_sandbox
from backend.settings import get_settings
from executors import actors
from executors.heartbeat import heartbeat_loop, worker_details
from executors.maintenance import maintenance_loop
from executors.relay import run_worker_events

log = logging.getLogger("linkflow.worker")
DRAIN_S = 10.0  # how long a stopping worker waits for the executions it has in flight


def main(args: argparse.Namespace | None = None) -> int:
    settings = get_settings()
    lf_logging.configure(settings.log_level, settings.log_format)
    check_at_startup()  # probe the Code node sandbox once, say what is wrong
    worker = dramatiq.Worker(actors.get_broker(), worker_threads=settings.queue.worker_threads)
    worker.start()
    freeze_startup_heap()
    keep_trimmed()
    log.info("worker started", extra={"worker_id": actors.WORKER_ID, "queue": settings.queue.backend})
    try:
        asyncio.run(_until_signalled())
    finally:
        worker.stop(timeout=5000)
        left = _worker_runtime.drain(DRAIN_S)
        if left:  # their leases expire and the reaper of another worker (or the next start) resumes them
            log.warning("stopping with executions still running", extra={"executions": left})
    return 0


async def _until_signalled() -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    def stopping() -> None:
        if not stop.is_set():
            exit_within(STOP_LIMIT_S)  # draining executions and stopping threads must not hang the stop
        stop.set()

    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stopping)
    in_memory = get_settings().queue.backend == "memory"
    events = asyncio.create_task(run_worker_events(stop))
    settings = get_settings()
    beat = asyncio.create_task(heartbeat_loop(
        stop, "worker", worker_details(settings.queue.worker_threads, settings.queue.backend,
                                       code_sandbox=lambda: code_sandbox().status().summary())))
    await maintenance_loop(stop, actors.enqueue, resend_queued_at_start=in_memory)
    await events
    await beat
