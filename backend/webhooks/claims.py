"""Who may claim a webhook path: one workflow per request path, whatever the team.

Webhook paths are one namespace for the whole instance, so a registration (activation or
a test listener) is refused when its path *overlaps* one another workflow holds (some
request path would match both, paths.overlaps), in either order: exact against pattern
and pattern against pattern. A request therefore reaches exactly one workflow, never one of
a team other than the team that claimed the path first.

A refusal is a 409 that names the other workflow only when it belongs to the same team;
for another team's it says nothing about it (no name, no id, not even its path).

Registrations take turns (``lock_registry``): on PostgreSQL a transaction-level advisory
lock, held until the activation commits; on SQLite the database's single write lock, which
the registration takes by writing before it looks. Two concurrent activations of
overlapping paths therefore cannot both pass the check.

A path may not start with a parameter (``:a/:b``): it would claim every path of that many
segments on the instance, and with it the paths other teams have not registered yet. A
workflow that already holds such a path (registered before this rule) keeps it.
"""

from __future__ import annotations

from typing import NamedTuple

from sqlalchemy import func, or_, select, true
from sqlalchemy.orm import Session

from backend.errors import Conflict, UserError
from backend.webhooks.models import Webhook
from backend.webhooks.paths import PARAM_PREFIX, is_pattern, literal_prefix, overlaps
from backend.workflows.models import Workflow

REGISTRY_LOCK = 0x4C46_5745_4248_4B31  # "LFWEBHK1": the advisory lock registrations take turns on


class UnsafePath(UserError):
    status_code = 422
    code = "invalid_webhook_path"


class Holder(NamedTuple):
    """A registration overlapping the one asked for."""

    path: str
    team_id: str
    workflow_id: str
    workflow_name: str


def lock_registry(session: Session) -> None:
    """Wait for other registrations in progress; the lock lasts until this transaction ends.

    SQLite has no such lock: callers write before they look (see register_workflow_webhooks).
    """
    if session.get_bind().dialect.name == "postgresql":
        session.execute(select(func.pg_advisory_xact_lock(REGISTRY_LOCK)))


def refuse_leading_parameter(method: str, path: str, url: str, held: set[tuple[str, str]]) -> None:
    if path.startswith(PARAM_PREFIX) and is_pattern(path) and (method, path) not in held:
        raise UnsafePath(
            f"{method} {url}/{path} starts with a path parameter, which would take every path with "
            f"{path.count('/') + 1} segment(s) on this instance; start it with a fixed segment, "
            "e.g. the random one a new Webhook node gets")


def production_holder(session: Session, workflow_id: str, method: str, path: str) -> Holder | None:
    """Another workflow's production registration that overlaps ``method path``."""
    literal = literal_prefix(path)
    if not is_pattern(path):
        same_text = Webhook.path == path
    elif literal:
        same_text = Webhook.path.startswith(literal + "/", autoescape=True)
    else:
        same_text = true()  # a legacy path starting with a parameter: every path of the method
    query = (select(Webhook.path, Webhook.team_id, Workflow.id, Workflow.name)
             .join(Workflow, Workflow.id == Webhook.workflow_id)
             .where(Webhook.method == method, Webhook.workflow_id != workflow_id,
                    or_(same_text, Webhook.path.contains(PARAM_PREFIX))))
    return next((Holder(*row) for row in session.execute(query) if overlaps(row.path, path)), None)


def taken(method: str, path: str, url: str, holder: Holder, team_id: str) -> Conflict:
    """The 409 for ``method url/path``; ``url`` is /webhook or /webhook-test."""
    if holder.team_id != team_id:
        return Conflict(f"{method} {url}/{path} overlaps a path another workflow already uses; choose "
                        "another path (a new Webhook node gets a random one)", {"method": method, "path": path})
    return Conflict(
        f"{method} {url}/{path} overlaps {method} {url}/{holder.path} of workflow '{holder.workflow_name}' "
        f"({holder.workflow_id}) in this team; change the path or method, or deactivate that workflow first",
        {"method": method, "path": path, "taken_path": holder.path, "workflow_id": holder.workflow_id,
         "workflow_name": holder.workflow_name})


def refuse_test_paths(session: Session, workflow_id: str, team_id: str, paths: list[tuple[str, str]]) -> None:
    """Test listening on ``paths`` ((method, path) pairs) must not overlap another workflow's production paths."""
    held = {(row.method, row.path) for row in session.execute(
        select(Webhook.method, Webhook.path).where(Webhook.workflow_id == workflow_id))}
    for method, path in paths:
        holder = production_holder(session, workflow_id, method, path)
        if holder is not None:
            raise taken(method, path, "/webhook-test", holder, team_id)
        refuse_leading_parameter(method, path, "/webhook-test", held)
