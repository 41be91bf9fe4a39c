"""Compact outbox rows for the hot paths, expanded to their schema's shape by the relay.

A webhook request used to build four event entries as dicts (node results, usage fact, webhook.answered,
trigger.fired) and encode their keys and floats into the outbox: most of the +110 µs of CPU the events
cost a saved webhook request. The hot paths now write each entry as a positional list (`pack_*`), times
as integer microseconds, in a payload marked `"packed": 1`; the relay, off the request path, expands it
(`unpack`) into the event its schema describes and checks that before publishing. Only the outbox holds
packed rows: the bus, Kafka and every consumer see the schema's shape.

Most packed rows stand for one event whose list they carry compactly. One kind stands for several events:
`execution.outcomes` holds the `execution.<status>` events of webhook runs committed together (one outbox row
per group commit instead of one per run); the relay publishes each entry as an event of its own, keyed by its
execution (`split`). Such events carry `event_id` = -(outbox id × 1024 + position), a space of their own (plain
rows' ids are positive), the same on every redelivery, for the consumers to dedupe on.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

PACKED = "packed"

NODE = ("node_id", "node_name", "run_index", "status", "duration_ms", "items_in", "items_out", "error")
USAGE = ("execution_id", "mode", "status", "finished_at", "duration_ms", "nodes", "items", "failed_node")
ANSWERED = ("execution_id", "status", "latency_ms", "request_bytes", "response_bytes", "received_at")
FIRING = ("execution_id",)
# Fields every entry of one packed row shares, carried once beside the list (the entries of one webhook node
# and method: the deferred batch groups by them).
SHARED = {"webhook.answered": ("node_id", "mode", "method", "path"), "trigger.fired": ("kind", "node_id")}


def _ms(micros: int | None) -> float | None:
    return None if micros is None else micros / 1000


def _moment(micros: int | None) -> str | None:
    return None if micros is None else datetime.fromtimestamp(micros / 1e6, UTC).isoformat()


def _node(row: list) -> dict:
    node = dict(zip(NODE, row, strict=True))
    node["duration_ms"] = _ms(node["duration_ms"])
    return node


def _run(row: list) -> dict:
    execution_id, mode, status, nodes = row
    return {"execution_id": execution_id, "mode": mode, "status": status, "nodes": [_node(n) for n in nodes]}


def _usage(row: list) -> dict:
    fact = dict(zip(USAGE, row, strict=True))
    fact["finished_at"], fact["duration_ms"] = _moment(fact["finished_at"]), _ms(fact["duration_ms"])
    return fact


def _answered(row: list) -> dict:
    request = dict(zip(ANSWERED, row, strict=True))
    request["latency_ms"], request["received_at"] = _ms(request["latency_ms"]), _moment(request["received_at"])
    return request


# event type -> (its list field, how one packed entry of it becomes the schema's dict)
_EXPAND: dict[str, tuple[str, Callable[[list], dict]]] = {
    "nodes.finished": ("runs", _run),
    "usage.executions": ("executions", _usage),
    "webhook.answered": ("requests", _answered),
    "trigger.fired": ("firings", lambda row: dict(zip(FIRING, row, strict=True))),
}


def unpack(payload: dict) -> dict:
    """The event a packed outbox payload stands for (any other payload as it is). A packed entry of the wrong
    shape raises ValueError/TypeError: the relay dead-letters the row with the reason."""
    if not payload.get(PACKED):
        return payload
    kind = payload.get("type")
    if kind not in _EXPAND:
        raise ValueError(f"packed outbox row of type {kind!r}; packed types: {', '.join(sorted(_EXPAND))}")
    field, expand = _EXPAND[kind]
    entries = payload.get(field)
    if not isinstance(entries, list) or not all(isinstance(entry, list) for entry in entries):
        raise ValueError(f"packed {kind}: {field} must be a list of lists")
    shared = SHARED.get(kind, ())
    event = {k: v for k, v in payload.items() if k != PACKED and k not in shared}
    common = {k: payload.get(k) for k in shared}
    event[field] = [{**common, **expand(entry)} if common else expand(entry) for entry in entries]
    return event


OUTCOMES = "execution.outcomes"  # a packed row of several execution.<status> events (see the module's doc)
OUTCOME = ("execution_id", "workflow_id", "team_id", "mode", "status", "error", "traceparent")
MAX_SPLIT = 1000  # entries of one packed row of several events (the writers chunk their rows at this)
_SPLIT_SPACE = 1024  # > MAX_SPLIT: an outbox id's events number from -(id × 1024)


def split(payload: dict) -> list[dict] | None:
    """The events a packed row of several events stands for, in order; None for a row of one event. A row
    of the wrong shape raises ValueError/TypeError (the relay dead-letters it whole); an entry that makes a
    wrong event is for the schema check to refuse, alone."""
    if payload.get("type") != OUTCOMES or not payload.get(PACKED):
        return None
    entries = payload.get("executions")
    if not isinstance(entries, list) or not 0 < len(entries) <= MAX_SPLIT \
            or not all(isinstance(entry, list) and len(entry) == len(OUTCOME) for entry in entries):
        raise ValueError(f"packed {OUTCOMES}: executions must be a list of 1 to {MAX_SPLIT} lists of "
                         f"{len(OUTCOME)} values ({', '.join(OUTCOME)})")
    return [outcome_event(entry) for entry in entries]


def outcome_event(entry: list) -> dict:
    """The `execution.<status>` event one entry of an `execution.outcomes` row stands for."""
    event = dict(zip(OUTCOME, entry, strict=True))
    event["type"] = f"execution.{event['status']}"
    if event["traceparent"] is None:
        del event["traceparent"]
    return event


def outcome_entry(execution_id: str, workflow_id: str | None, team_id: str, mode: str, status: str,
                  error: dict | str | None, traceparent: str | None) -> list:
    """One entry of an `execution.outcomes` row: the `execution.<status>` event of one run."""
    return [execution_id, workflow_id, team_id, mode, status, error, traceparent]


def split_event_id(outbox_id: int, position: int) -> int:
    """The `event_id` of the event at `position` of a packed row of several events."""
    return -(outbox_id * _SPLIT_SPACE + position)


def micros(moment: datetime | None) -> int | None:
    """A moment as integer microseconds since the epoch (what packed rows carry)."""
    return None if moment is None else int(moment.timestamp() * 1_000_000)


def events_of_row(key: str, payload: dict) -> list[tuple[str, dict]]:
    """(key, event) of each event an outbox row stands for, as the relay publishes them without the envelope
    it adds: for what reads the outbox table itself (tests, an operator's query)."""
    parts = split(payload)
    if parts is None:
        return [(key, unpack(payload))]
    return [(part["execution_id"], part) for part in parts]
