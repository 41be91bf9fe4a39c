"""The production webhook registry: the only writer of the ``webhooks`` table.

Activation registers every Webhook trigger of the version it activates; deactivation
unregisters them. A request path belongs to one workflow: registering a path that overlaps
one another workflow holds fails with a ``Conflict`` (claims.py: what overlaps, what the
409 may say, and how registrations take turns so that two at once cannot both pass).

``match(method, path)`` answers every webhook request, so it is cached in the process:

* a lookup result (found or not) is kept for ``ROUTE_TTL_S`` (2 s);
* register/unregister clear this process's cache at once, and again after their
  transaction commits, so this process never serves a stale route after a change;
* other processes (scaled out: several webhook pods) see a change within ``ROUTE_TTL_S``.
  A version counter would need a database round trip per request, which costs more than
  the whole cached lookup; two seconds of lag after (de)activation is the trade-off.

Parametrised paths (``users/:id``) are matched in the process against the list of all
parametrised registrations of the method, refreshed on the same TTL. An exact path is
tried before the patterns: only registrations made before overlaps were refused (and only
within one team, see migration 0007) can still hold both.
"""

from __future__ import annotations

import re
import threading
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import Engine, delete, event, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from backend.db.session import get_engine, session_scope
from backend.errors import Conflict, UserError
from backend.webhooks import claims
from backend.webhooks.models import Webhook
from backend.webhooks.paths import Pattern, is_pattern, normalise, shape
from backend.workflows.models import Workflow
from nodes.builtin.webhook import WebhookParameters

ROUTE_TTL_S = 2.0
MAX_CACHED_LOOKUPS = 10_000  # a scanner probing random paths must not grow the cache forever
RANDOM_PATH = re.compile(r"[0-9a-f]{32}|[0-9a-f]{12}")  # what the editor gives a new node (12: before 2026-12)


@dataclass(frozen=True, slots=True)
class WebhookRoute:
    """A registration joined with what a request needs from its workflow (read-only, cached)."""

    webhook_id: str
    team_id: str
    workflow_id: str
    workflow_name: str
    version_id: str
    node_id: str
    method: str
    path: str


def webhook_nodes(definition: dict) -> list[tuple[str, WebhookParameters]]:
    """(node id, parameters) of every enabled Webhook trigger in ``definition``."""
    found = []
    for node in definition.get("nodes") or []:
        if node.get("type") == "webhook" and not node.get("disabled", False):
            found.append((node["id"], WebhookParameters.model_validate(node.get("parameters") or {})))
    return found


def with_random_paths(definition: dict) -> dict:
    """``definition`` with a random path (a uuid4 in hex) for every Webhook node that has none.

    Saving a workflow calls this, so a node added through the API without a path gets one
    nobody can guess, as the editor gives a new node.
    """
    nodes = definition.get("nodes")
    if not isinstance(nodes, list) or not any(_lacks_path(node) for node in nodes):
        return definition
    return {**definition, "nodes": [
        {**node, "parameters": {**(node.get("parameters") or {}), "path": uuid.uuid4().hex}}
        if _lacks_path(node) else node for node in nodes]}


def with_fresh_random_paths(definition: dict) -> dict:
    """``definition`` with a new random path for every Webhook node whose path was random.

    A duplicated workflow answers at URLs of its own, as the original keeps its own; a path
    a person chose stays, and activating both copies says which workflow holds it.
    """
    return {**definition, "nodes": [
        {**node, "parameters": {**node["parameters"], "path": uuid.uuid4().hex}} if _has_random_path(node) else node
        for node in definition.get("nodes") or []]}


def _has_random_path(node: object) -> bool:
    if not isinstance(node, dict) or node.get("type") != "webhook" or not isinstance(node.get("parameters"), dict):
        return False
    return RANDOM_PATH.fullmatch(str(node["parameters"].get("path") or "").strip("/")) is not None


def _lacks_path(node: object) -> bool:
    if not isinstance(node, dict) or node.get("type") != "webhook":
        return False
    parameters = node.get("parameters") or {}
    return isinstance(parameters, dict) and not str(parameters.get("path") or "").strip(" /")


def register_workflow_webhooks(session: Session, workflow: Workflow, definition: dict,
                               extra: Iterable[tuple[str, str, str]] = ()) -> list[Webhook]:
    """Replace ``workflow``'s registrations with the Webhook triggers of ``definition`` and ``extra``
    (node id, method, path) routes (vendor triggers: backend/vendorhooks)."""
    wanted = [(node_id, params.method, normalise(params.path)) for node_id, params in webhook_nodes(definition)]
    wanted += [(node_id, method, normalise(path)) for node_id, method, path in extra]
    _refuse_duplicates_within(wanted)
    held = {(row.method, row.path) for row in registered_webhooks(session, workflow.id)}
    claims.lock_registry(session)
    # Written before the check: on SQLite this write takes the database's write lock, so the
    # check below sees every registration that committed before it and none can slip in after.
    session.execute(delete(Webhook).where(Webhook.workflow_id == workflow.id))
    for _, method, path in wanted:
        holder = claims.production_holder(session, workflow.id, method, path)
        if holder is not None:
            raise claims.taken(method, path, "/webhook", holder, workflow.team_id)
        claims.refuse_leading_parameter(method, path, "/webhook", held)
    rows = [Webhook(team_id=workflow.team_id, workflow_id=workflow.id, node_id=node_id, method=method, path=path)
            for node_id, method, path in wanted]
    session.add_all(rows)
    try:
        session.flush()
    except IntegrityError:  # cannot happen under the lock; the caller's transaction is void all the same
        raise Conflict("a webhook path of this workflow was registered by another workflow at the same "
                       "moment; activate it again") from None
    _invalidate_on_commit(session)
    return rows


def unregister_workflow_webhooks(session: Session, workflow_id: str) -> None:
    session.execute(delete(Webhook).where(Webhook.workflow_id == workflow_id))
    _invalidate_on_commit(session)


def registered_webhooks(session: Session, workflow_id: str) -> list[Webhook]:
    return list(session.scalars(select(Webhook).where(Webhook.workflow_id == workflow_id)
                                .order_by(Webhook.method, Webhook.path)))


def match(method: str, path: str) -> tuple[WebhookRoute, dict[str, str]] | None:
    """The active registration answering ``method /webhook/path``, with its path parameters."""
    return _routes.match(method.upper(), normalise(path))


def invalidate_cache() -> None:
    _routes.invalidate()


def _refuse_duplicates_within(wanted: Iterable[tuple[str, str, str]]) -> None:
    seen: dict[tuple[str, str], str] = {}
    for node_id, method, path in wanted:
        earlier = seen.setdefault((method, shape(path)), node_id)
        if earlier != node_id:
            raise UserError(f"nodes {earlier!r} and {node_id!r} both listen on {method} /webhook/{path}; "
                            "give each Webhook node its own path or method")


def _invalidate_on_commit(session: Session) -> None:
    _routes.invalidate()  # this process must not answer from the old table, even before the commit
    event.listen(session, "after_commit", lambda _session: _routes.invalidate(), once=True)


class _RouteCache:
    def __init__(self) -> None:
        self._exact: dict[tuple[str, str], tuple[float, WebhookRoute | None]] = {}
        self._patterns: tuple[float, dict[str, list[tuple[Pattern, WebhookRoute]]]] = (0.0, {})
        self._generation = 0  # a lookup that raced an invalidation is not cached
        self._engine: Engine | None = None
        self._lock = threading.Lock()

    def invalidate(self) -> None:
        with self._lock:
            self._generation += 1
            self._exact = {}
            self._patterns = (0.0, {})

    def match(self, method: str, path: str) -> tuple[WebhookRoute, dict[str, str]] | None:
        engine = get_engine()
        if engine is not self._engine:  # another database (tests, a reconfigured process)
            self.invalidate()
            self._engine = engine
        route = self._exact_route(method, path)
        if route is not None:
            return route, {}
        segments = path.split("/")
        for pattern, candidate in self._pattern_routes().get(method, ()):
            params = pattern.match(segments)
            if params is not None:
                return candidate, params
        return None

    def _exact_route(self, method: str, path: str) -> WebhookRoute | None:
        now = time.monotonic()
        cached = self._exact.get((method, path))
        if cached is not None and cached[0] > now:
            return cached[1]
        generation = self._generation
        route = next(iter(_load_routes(Webhook.method == method, Webhook.path == path)), None)
        with self._lock:
            if generation == self._generation:
                if len(self._exact) >= MAX_CACHED_LOOKUPS:
                    self._exact = {}
                self._exact[(method, path)] = (now + ROUTE_TTL_S, route)
        return route

    def _pattern_routes(self) -> dict[str, list[tuple[Pattern, WebhookRoute]]]:
        now = time.monotonic()
        expires, by_method = self._patterns
        if expires > now:
            return by_method
        generation = self._generation
        by_method = {}
        for route in _load_routes(Webhook.path.contains(":")):
            if is_pattern(route.path):
                by_method.setdefault(route.method, []).append((Pattern.of(route.path), route))
        with self._lock:
            if generation == self._generation:
                self._patterns = (now + ROUTE_TTL_S, by_method)
        return by_method


def _load_routes(*conditions) -> list[WebhookRoute]:
    query = (select(Webhook.id, Webhook.team_id, Webhook.workflow_id, Workflow.name, Workflow.active_version_id,
                    Webhook.node_id, Webhook.method, Webhook.path)
             .join(Workflow, Workflow.id == Webhook.workflow_id)
             .where(Workflow.active.is_(True), Workflow.active_version_id.is_not(None), *conditions)
             .order_by(Webhook.path))
    with session_scope() as session:
        return [WebhookRoute(*row) for row in session.execute(query)]


_routes = _RouteCache()
