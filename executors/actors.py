"""Dramatiq actors. A message carries only an execution id: the database is the truth."""

from __future__ import annotations

import os
import socket

import dramatiq

from backend.admin.queues import EXECUTION_QUEUE
from executors.broker import get_broker
from executors.heartbeat import processed

get_broker()  # actors bind to the broker that exists when they are declared

WORKER_ID = f"{socket.gethostname()}:{os.getpid()}"


@dramatiq.actor(queue_name=EXECUTION_QUEUE, max_retries=3, min_backoff=1000, time_limit=24 * 3600 * 1000)
def run_execution(execution_id: str) -> None:
    from backend.executions.worker_runtime import submit

    try:
        submit(execution_id, WORKER_ID)  # returns once it is under way (the database is the truth from there)
    finally:
        processed.add()


def enqueue(execution_id: str) -> None:
    run_execution.send(execution_id)
