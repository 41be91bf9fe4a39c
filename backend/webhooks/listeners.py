"""Test URLs: ``/webhook-test/<path>`` answers once, while the editor listens for a test event.

The editor calls ``listen_for_test(workflow_id, definition)`` with the latest saved
definition when someone presses "Listen for test event"; the next request to one of its
Webhook nodes' test URLs runs that definition (mode "test", active or not) and ends the
listening.

A listener belongs to its workflow: listening is refused (409, claims.py) on a path that
overlaps another workflow's live listener, and test_events.py refuses one that overlaps
another workflow's production registration first. A test URL therefore matches the
listeners of one workflow at most, and of those an exact path before a pattern.

Listeners live in this process only: with several web processes the editor's process and
the one the test request reaches can differ, so a scaled-out deployment must route
/webhook-test to the API process (or this registry must move to Redis).

The editor's long-poll (test_events.py) listens with a ``session`` and reads its
``outcome``: "taken" when a request arrived, "received" with the execution id once the
run was started, "cancelled" when the listening was stopped, "failed" when the request
could not be turned into a run.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

from backend.webhooks.claims import Holder, taken
from backend.webhooks.paths import Pattern, normalise, overlaps
from backend.webhooks.service import webhook_nodes
from backend.webhooks.targets import Target, compile_target

DEFAULT_TTL_S = 120.0
MAX_OUTCOMES = 1_000  # outcomes nobody collected (the editor went away) are dropped oldest first


@dataclass(frozen=True, slots=True)
class TestListener:
    workflow_id: str
    node_id: str
    method: str
    path: str
    target: Target
    expires_at: float  # time.monotonic()
    session: str = ""  # who listens: the editor's long-poll reads outcome(session)
    team_id: str = ""
    workflow_name: str = ""


def listen_for_test(workflow_id: str, definition: dict, ttl_s: float = DEFAULT_TTL_S,
                    session: str = "", *, team_id: str = "") -> list[str]:
    """Listen on the test URL of every Webhook node of ``definition``; returns "METHOD path" of each.

    Raises ``Conflict`` when a path overlaps another workflow's live listener.
    """
    target = compile_target(definition)
    expires_at = time.monotonic() + ttl_s
    name = str(definition.get("name", ""))
    listeners = [TestListener(workflow_id, node_id, params.method, normalise(params.path), target, expires_at,
                              session, team_id, name) for node_id, params in webhook_nodes(definition)]
    with _lock:
        for listener in listeners:
            _refuse_overlap(listener)
        _end_sessions(workflow_id, "cancelled")  # a newer listener replaces the workflow's older one
        _drop(lambda listener: listener.workflow_id == workflow_id or listener.expires_at <= time.monotonic())
        _listeners.extend(listeners)
    return [f"{listener.method} {listener.path}" for listener in listeners]


def stop_listening(workflow_id: str) -> None:
    with _lock:
        _end_sessions(workflow_id, "cancelled")
        _drop(lambda listener: listener.workflow_id == workflow_id)


def stop_listening_session(workflow_id: str, session: str) -> None:
    """Stop one session's listening (not a newer session of the same workflow)."""
    with _lock:
        _drop(lambda listener: listener.workflow_id == workflow_id and listener.session == session)


def stop_listening_all() -> None:
    with _lock:
        _listeners.clear()
        _outcomes.clear()


def find_listener(method: str, path: str) -> tuple[TestListener, dict[str, str]] | None:
    """The listener a test request reaches: of one workflow only (see above), an exact path first."""
    segments, now = normalise(path).split("/"), time.monotonic()
    found = None
    with _lock:
        for listener in _listeners:
            if listener.method != method or listener.expires_at <= now:
                continue
            params = Pattern.of(listener.path).match(segments)
            if params == {}:
                return listener, params
            if params is not None and found is None:
                found = listener, params
    return found


def take(listener: TestListener) -> bool:
    """Stop the workflow's listening; False when another request took it first."""
    with _lock:
        if not any(existing is listener for existing in _listeners):
            return False
        _drop(lambda other: other.workflow_id == listener.workflow_id)
        _set_outcome(listener.session, {"status": "taken", "node_id": listener.node_id})
        return True


def started(listener: TestListener, execution_id: str) -> None:
    """The request that took ``listener`` started execution ``execution_id``."""
    with _lock:
        _set_outcome(listener.session, {"status": "received", "node_id": listener.node_id,
                                        "execution_id": execution_id})


def failed(listener: TestListener, message: str) -> None:
    with _lock:
        _set_outcome(listener.session, {"status": "failed", "node_id": listener.node_id, "message": message})


def outcome(session: str) -> dict | None:
    """What became of a session's listening; None while it still listens (or never did)."""
    with _lock:
        return _outcomes.get(session)


def is_listening(session: str) -> bool:
    now = time.monotonic()
    with _lock:
        return any(listener.session == session and listener.expires_at > now for listener in _listeners)


def forget(session: str) -> None:
    with _lock:
        _outcomes.pop(session, None)


def _refuse_overlap(new: TestListener) -> None:
    now = time.monotonic()
    for other in _listeners:
        if (other.workflow_id != new.workflow_id and other.expires_at > now and other.method == new.method
                and overlaps(other.path, new.path)):
            holder = Holder(other.path, other.team_id, other.workflow_id, other.workflow_name)
            raise taken(new.method, new.path, "/webhook-test", holder, new.team_id)


def _end_sessions(workflow_id: str, status: str) -> None:
    for listener in _listeners:
        if listener.workflow_id == workflow_id and listener.session not in _outcomes:
            _set_outcome(listener.session, {"status": status, "node_id": listener.node_id})


def _set_outcome(session: str, value: dict) -> None:
    if not session:
        return
    _outcomes[session] = value
    while len(_outcomes) > MAX_OUTCOMES:
        _outcomes.pop(next(iter(_outcomes)))


def _drop(predicate) -> None:
    _listeners[:] = [listener for listener in _listeners if not predicate(listener)]


_listeners: list[TestListener] = []
_outcomes: dict[str, dict] = {}  # session -> outcome, insertion-ordered
_lock = threading.Lock()
