"""Test URLs: ``/webhook-test/<path>`` answers once, while the editor listens for a test event.

The editor calls ``listen_for_test(workflow_id, definition)`` with the latest saved
definition when someone presses "Listen for test event"; the next request to one of its
Webhook nodes' test URLs runs that definition (mode "test", active or not) and ends the
listening. Listeners live in this process only: with several web processes the editor's
process and the one the test request reaches can differ, so a scaled-out deployment must
route /webhook-test to the API process (or this registry must move to Redis).
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

from backend.webhooks.paths import Pattern, normalise
from backend.webhooks.service import webhook_nodes
from backend.webhooks.targets import Target, compile_target

DEFAULT_TTL_S = 120.0


@dataclass(frozen=True, slots=True)
class TestListener:
    workflow_id: str
    node_id: str
    method: str
    path: str
    target: Target
    expires_at: float  # time.monotonic()


def listen_for_test(workflow_id: str, definition: dict, ttl_s: float = DEFAULT_TTL_S) -> list[str]:
    """Listen on the test URL of every Webhook node of ``definition``; returns "METHOD path" of each."""
    target = compile_target(definition)
    expires_at = time.monotonic() + ttl_s
    listeners = [TestListener(workflow_id, node_id, params.method, normalise(params.path), target, expires_at)
                 for node_id, params in webhook_nodes(definition)]
    with _lock:
        _drop(lambda listener: listener.workflow_id == workflow_id or listener.expires_at <= time.monotonic())
        _listeners.extend(listeners)
    return [f"{listener.method} {listener.path}" for listener in listeners]


def stop_listening(workflow_id: str) -> None:
    with _lock:
        _drop(lambda listener: listener.workflow_id == workflow_id)


def stop_listening_all() -> None:
    with _lock:
        _listeners.clear()


def find_listener(method: str, path: str) -> tuple[TestListener, dict[str, str]] | None:
    segments, now = normalise(path).split("/"), time.monotonic()
    with _lock:
        for listener in reversed(_listeners):  # the newest listener wins
            if listener.method != method or listener.expires_at <= now:
                continue
            params = Pattern.of(listener.path).match(segments)
            if params is not None:
                return listener, params
    return None


def take(listener: TestListener) -> bool:
    """Stop the workflow's listening; False when another request took it first."""
    with _lock:
        if not any(existing is listener for existing in _listeners):
            return False
        _drop(lambda other: other.workflow_id == listener.workflow_id)
        return True


def _drop(predicate) -> None:
    _listeners[:] = [listener for listener in _listeners if not predicate(listener)]


_listeners: list[TestListener] = []
_lock = threading.Lock()
