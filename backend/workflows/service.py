"""Workflows and their immutable versions: the only writer of both tables.

Every save of a changed definition is a new version; a definition equal to the newest
one saves nothing. Definitions are checked with the engine's validator before they are
stored, and every problem is reported at once.
"""

from __future__ import annotations

from sqlalchemy import func, select, type_coerce
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Session

from backend.credentials.access import unusable_credentials
from backend.engine.pins import as_items
from backend.engine.validate import expression_problems, validate
from backend.errors import Conflict, NotFound, UserError
from backend.events.outbox import emit
from backend.webhooks.service import with_fresh_random_paths, with_random_paths
from backend.workflows import secrets
from backend.workflows.models import Workflow, WorkflowVersion
from backend.workflows.sticky import sticky_note_problems
from nodes.sdk import default_registry

DEFINITION_KEYS = ("nodes", "connections", "settings", "pin_data", "sticky_notes")


class InvalidDefinition(UserError):
    """The definition has problems; ``details`` lists every one as {node, message}."""

    status_code = 422
    code = "invalid_workflow"


def get_workflow(session: Session, team_id: str, workflow_id: str) -> Workflow:
    """The team's workflow; another team's id answers exactly like a missing one."""
    workflow = session.get(Workflow, workflow_id)
    if workflow is None or workflow.team_id != team_id:
        raise NotFound(f"workflow {workflow_id} not found")
    return workflow


def save_version(session: Session, workflow: Workflow, definition: dict, *, user_id: str | None = None,
                 message: str = "") -> WorkflowVersion:
    workflow.latest_version += 1
    version = WorkflowVersion(workflow_id=workflow.id, number=workflow.latest_version, definition=definition,
                              created_by=user_id, message=message)
    session.add(version)
    session.flush()
    return version


def runnable_definition(session: Session, team_id: str, workflow_id: str) -> tuple[str, dict]:
    """(version id, definition) that runs for triggers: the active version, else the newest."""
    workflow = get_workflow(session, team_id, workflow_id)
    query = select(WorkflowVersion).where(WorkflowVersion.workflow_id == workflow.id)
    if workflow.active_version_id:
        query = query.where(WorkflowVersion.id == workflow.active_version_id)
    version = session.scalars(query.order_by(WorkflowVersion.number.desc()).limit(1)).first()
    if version is None:
        raise NotFound(f"workflow {workflow_id} has no saved version yet")
    return version.id, production_definition(version.definition)


def production_definition(definition: dict) -> dict:
    """What production runs keep: without the editor's pins and notes (the engine ignores pins there)."""
    if "pin_data" not in definition and "sticky_notes" not in definition:
        return definition
    return {k: v for k, v in definition.items() if k not in ("pin_data", "sticky_notes")}


def checked_definition(definition: dict, *, draft: bool = False) -> dict:
    """The definition reduced to DEFINITION_KEYS; InvalidDefinition lists every problem.

    A ``draft`` (what saving checks) may keep parameter problems (missing required parameters,
    wrong values): ``definition_warnings`` lists them on the nodes, and activation refuses them.

    ``pin_data`` and ``sticky_notes`` are kept only when they hold something, so a definition
    without them compares equal to one saved before they existed. A Webhook node without a
    path gets a random one.
    """
    definition = with_random_paths(definition)
    details = [{"node": p.node, "message": p.message} for p in validate(definition, default_registry())
               if not (draft and p.draft_ok)]
    notes, note_problems = sticky_note_problems(definition.get("sticky_notes"))
    details += [{"node": None, "message": message} for message in note_problems]
    if details:
        noun = "problem" if len(details) == 1 else "problems"
        raise InvalidDefinition(f"the workflow has {len(details)} {noun}; see details", details)
    clean = {"nodes": definition.get("nodes") or [], "connections": definition.get("connections") or [],
             "settings": definition.get("settings") or {}}
    if definition.get("pin_data"):
        clean["pin_data"] = {name: as_items(values) for name, values in definition["pin_data"].items()}
    if notes:
        clean["sticky_notes"] = notes
    return clean


def definition_warnings(definition: dict) -> list[dict]:
    """What a saved draft still lacks, as {node, message}: parameter problems and expression syntax errors."""
    problems = [p for p in validate(definition, default_registry()) if p.draft_ok]
    problems += expression_problems(definition)
    return [{"node": p.node, "message": p.message} for p in problems[:200]]


def check_activatable(definition: dict) -> None:
    """Refuse (422) to activate a draft with warnings, naming the nodes and what to fix."""
    warnings = definition_warnings(definition)
    if warnings:
        nodes = list(dict.fromkeys(w["node"] or "the workflow" for w in warnings))
        named = ", ".join(repr(n) for n in nodes[:5]) + (f" and {len(nodes) - 5} more" if len(nodes) > 5 else "")
        first = warnings[0]
        raise InvalidDefinition(
            f"cannot activate: {len(warnings)} problem(s) on {named} (first, on {first['node']!r}: "
            f"{first['message']}); fix them, save, and activate again", warnings)


def check_credentials_usable(session: Session, team_id: str, user_id: str | None, definition: dict) -> None:
    """Refuse (422, naming the nodes) a definition using credentials the saving user may not use."""
    problems = unusable_credentials(session, team_id, user_id, definition)
    if problems:
        noun = "node uses a credential" if len(problems) == 1 else "nodes use credentials"
        summary = "; ".join(f"node {p['node']!r}: {p['message']}" for p in problems[:3])
        raise InvalidDefinition(f"{len(problems)} {noun} you may not use: {summary}", problems)


def _kept_secrets(definition: dict, saved: dict | None) -> dict:
    """Masked secrets (``********``) saved back keep the saved value (secrets.py)."""
    definition, problems = secrets.keep_saved(definition, saved)
    if problems:
        raise InvalidDefinition(f"{len(problems)} secret(s) are masked with nothing saved to keep; see details",
                                problems)
    return definition


def create_workflow(session: Session, *, team_id: str, user_id: str | None, name: str, definition: dict,
                    description: str = "", tags: list[str] | None = None, message: str = "") -> Workflow:
    """A new workflow with version 1."""
    clean = _kept_secrets(checked_definition(definition, draft=True), None)
    check_credentials_usable(session, team_id, user_id, clean)
    workflow = Workflow(team_id=team_id, name=name, description=description, tags=tags or [],
                        created_by=user_id)
    session.add(workflow)
    session.flush()
    save_version(session, workflow, clean, user_id=user_id, message=message or "created")
    audit(session, workflow, "workflow.create", user_id, {"name": name, "version": 1})
    return workflow


def update_workflow(session: Session, workflow: Workflow, *, user_id: str | None, changes: dict,
                    base_version: int | None = None, message: str = "") -> WorkflowVersion | None:
    """Apply name/description/tags; a changed definition becomes a new version (returned)."""
    if base_version is not None and base_version != workflow.latest_version:
        raise Conflict(f"workflow {workflow.id} is at version {workflow.latest_version}, not {base_version}; "
                       "reload it and apply your changes again")
    for field in ("name", "description", "tags"):
        if changes.get(field) is not None:
            setattr(workflow, field, changes[field])
    version = None
    if changes.get("definition") is not None:
        saved = latest_version(session, workflow).definition
        clean = _kept_secrets(checked_definition(changes["definition"], draft=True), saved)
        if clean != saved:
            check_credentials_usable(session, workflow.team_id, user_id, clean)
            version = save_version(session, workflow, clean, user_id=user_id, message=message)
    details = {"fields": sorted(k for k, v in changes.items() if v is not None),
               "version": version.number if version else None}
    audit(session, workflow, "workflow.update", user_id, details)
    session.flush()
    return version


def delete_workflow(session: Session, workflow: Workflow, *, user_id: str | None) -> None:
    """Delete with all versions; past executions stay, detached from the workflow."""
    if workflow.active:
        emit(session, "workflow.events", workflow.id, _event(workflow, "workflow.deactivated"))
    emit(session, "workflow.events", workflow.id, _event(workflow, "workflow.deleted"))
    audit(session, workflow, "workflow.delete", user_id, {"name": workflow.name})
    session.delete(workflow)
    session.flush()


def duplicate_workflow(session: Session, workflow: Workflow, *, user_id: str | None) -> Workflow:
    source = latest_version(session, workflow)
    return create_workflow(session, team_id=workflow.team_id, user_id=user_id, name=f"{workflow.name} (copy)"[:200],
                           definition=with_fresh_random_paths(source.definition), description=workflow.description,
                           tags=list(workflow.tags), message=f"duplicated from {workflow.id} v{source.number}")


def latest_version(session: Session, workflow: Workflow) -> WorkflowVersion:
    return get_version(session, workflow, workflow.latest_version)


def get_version(session: Session, workflow: Workflow, number: int) -> WorkflowVersion:
    version = session.scalars(select(WorkflowVersion).where(
        WorkflowVersion.workflow_id == workflow.id, WorkflowVersion.number == number)).first()
    if version is None:
        raise NotFound(f"workflow {workflow.id} has no version {number} (latest: {workflow.latest_version})")
    return version


def list_versions(session: Session, workflow: Workflow, *, limit: int, offset: int) -> tuple[list, int]:
    """Versions newest first, without their definitions, and how many there are."""
    columns = (WorkflowVersion.number, WorkflowVersion.message, WorkflowVersion.created_by,
               WorkflowVersion.created_at)
    where = WorkflowVersion.workflow_id == workflow.id
    rows = session.execute(select(*columns).where(where).order_by(WorkflowVersion.number.desc())
                           .limit(limit).offset(offset)).all()
    total = session.scalar(select(func.count()).select_from(WorkflowVersion).where(where))
    return rows, total or 0


def version_numbers(session: Session, workflow: Workflow) -> list[int]:
    return list(session.scalars(select(WorkflowVersion.number).where(
        WorkflowVersion.workflow_id == workflow.id).order_by(WorkflowVersion.number)))


def active_version_number(session: Session, workflow: Workflow) -> int | None:
    if not workflow.active_version_id:
        return None
    return session.scalar(select(WorkflowVersion.number).where(WorkflowVersion.id == workflow.active_version_id))


def restore_version(session: Session, workflow: Workflow, number: int, *,
                    user_id: str | None) -> WorkflowVersion | None:
    """Make an old version the newest again, as a new version (None: it already is the newest)."""
    old = get_version(session, workflow, number)
    return update_workflow(session, workflow, user_id=user_id, changes={"definition": old.definition},
                           message=f"restored version {number}")


def audit(session: Session, workflow: Workflow, action: str, actor_id: str | None, details: dict) -> None:
    emit(session, "audit.log", workflow.team_id, {
        "action": action, "actor_id": actor_id, "team_id": workflow.team_id, "object_type": "workflow",
        "object_id": workflow.id, "details": details})


def _event(workflow: Workflow, kind: str) -> dict:
    return {"type": kind, "workflow_id": workflow.id, "team_id": workflow.team_id,
            "version_id": workflow.active_version_id}


def list_workflows(session: Session, team_id: str, *, search: str | None = None, tag: str | None = None,
                   active: bool | None = None, limit: int = 20, offset: int = 0) -> tuple[list[Workflow], int]:
    """The team's workflows, most recently updated first, and how many match in total."""
    query = select(Workflow).where(Workflow.team_id == team_id)
    if search:
        query = query.where(Workflow.name.icontains(search, autoescape=True)
                            | Workflow.description.icontains(search, autoescape=True))
    if tag:
        query = query.where(_has_tag(session, tag))
    if active is not None:
        query = query.where(Workflow.active.is_(active))
    total = session.scalar(select(func.count()).select_from(query.subquery()))
    page = session.scalars(query.order_by(Workflow.updated_at.desc(), Workflow.id).limit(limit).offset(offset))
    return list(page), total or 0


def _has_tag(session: Session, tag: str):
    if session.get_bind().dialect.name == "postgresql":
        return type_coerce(Workflow.tags, JSONB).contains([tag])  # tags @> '["tag"]'
    tags = func.json_each(Workflow.tags).table_valued("value")
    return select(tags.c.value).where(tags.c.value == tag).exists()
