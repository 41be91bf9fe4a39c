"""The queue port: hand an execution id to the workers.

The executors package provides the implementation (entry point ``linkflow.dispatch``),
so backend code can enqueue without importing the worker side.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from importlib.metadata import entry_points

from backend import tracing

log = logging.getLogger("linkflow.executions")

Dispatcher = Callable[[str], None]
_dispatcher: Dispatcher | None = None
_batch_dispatcher: Callable[..., None] | None = None


def register(dispatcher: Dispatcher) -> None:
    """Send through ``dispatcher`` from now on (tests: a fake queue); batches go through it one by one."""
    global _dispatcher, _batch_dispatcher
    _dispatcher = dispatcher
    _batch_dispatcher = _one_by_one


def dispatch(execution_id: str) -> None:
    global _dispatcher
    if _dispatcher is None:
        found = [ep for ep in entry_points(group="linkflow.dispatch") if ep.name == "default"]
        if not found:
            raise RuntimeError("no execution queue is installed (entry point linkflow.dispatch:default)")
        _dispatcher = found[0].load()
    _dispatcher(execution_id)


def dispatch_many(execution_ids: list[str], traces: dict[str, str] | None = None) -> None:
    """Several ids at once (entry point ``linkflow.dispatch:many``: one round trip to Redis for all).

    ``traces``: the ``traceparent`` of the request each id came from (tracing on), so each message
    joins its own request's trace although the batch is sent from elsewhere.
    """
    global _batch_dispatcher
    if _batch_dispatcher is None:
        found = [ep for ep in entry_points(group="linkflow.dispatch") if ep.name == "many"]
        _batch_dispatcher = found[0].load() if found else _one_by_one
    if traces:
        _batch_dispatcher(execution_ids, traces)
    else:
        _batch_dispatcher(execution_ids)


def _one_by_one(execution_ids: list[str], traces: dict[str, str] | None = None) -> None:
    for execution_id in execution_ids:
        with tracing.attached((traces or {}).get(execution_id)):
            dispatch(execution_id)


def commit_then_dispatch(session, *execution_ids: str) -> None:
    """Commit the caller's transaction, then hand the new executions to the queue.

    Dispatching first could let a worker look for a row that is not committed yet. A
    message that cannot be sent is not an error for the caller: the reaper re-sends
    queued executions nobody claimed (backend/executions/reaper.py).
    """
    session.commit()
    for execution_id in execution_ids:
        try:
            dispatch(execution_id)
        except Exception:
            log.exception("dispatch failed; the reaper will send it again", extra={"execution_id": execution_id})
