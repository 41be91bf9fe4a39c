"""The queue port: hand an execution id to the workers.

The executors package provides the implementation (entry point ``linkflow.dispatch``),
so backend code can enqueue without importing the worker side.
"""

from __future__ import annotations

from collections.abc import Callable
from importlib.metadata import entry_points

Dispatcher = Callable[[str], None]
_dispatcher: Dispatcher | None = None


def register(dispatcher: Dispatcher) -> None:
    global _dispatcher
    _dispatcher = dispatcher


def dispatch(execution_id: str) -> None:
    global _dispatcher
    if _dispatcher is None:
        found = [ep for ep in entry_points(group="linkflow.dispatch") if ep.name == "default"]
        if not found:
            raise RuntimeError("no execution queue is installed (entry point linkflow.dispatch:default)")
        _dispatcher = found[0].load()
    _dispatcher(execution_id)
