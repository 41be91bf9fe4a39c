"""HTTP API of workflows: /api/v1/workflows. Viewers read; editors and above change and run."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Path, Query, Response
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from backend.auth.deps import Principal, require_role
from backend.db.base import MAX_INT
from backend.db.deps import CommittingRoute, db_session
from backend.errors import Conflict
from backend.executions.dispatch import commit_then_dispatch
from backend.users.models import Role
from backend.users.roles import at_least
from backend.vendorhooks import service as vendorhooks
from backend.workflows import activation, runs, service, transfer
from backend.workflows.diff import diff_definitions
from backend.workflows.models import Workflow
from backend.workflows.n8n import service as n8n_service
from backend.workflows.schemas import (
    DraftDiffRequest,
    N8nImportOut,
    RunAccepted,
    RunRequest,
    TriggerListenerOut,
    TriggerStatusOut,
    VendorHookOut,
    VersionOut,
    VersionPage,
    VersionSummary,
    WorkflowCreate,
    WorkflowFile,
    WorkflowOut,
    WorkflowPage,
    WorkflowSummary,
    WorkflowUpdate,
)
from backend.workflows.secrets import masked

router = APIRouter(route_class=CommittingRoute, prefix="/workflows", tags=["workflows"])

Db = Annotated[Session, Depends(db_session)]
Viewer = Annotated[Principal, Depends(require_role(Role.VIEWER))]
Editor = Annotated[Principal, Depends(require_role(Role.EDITOR))]
Limit = Annotated[int, Query(ge=1, le=100)]
Offset = Annotated[int, Query(ge=0, le=MAX_INT)]
VersionNumber = Annotated[int, Path(ge=1, le=MAX_INT)]


@contextmanager
def _conflicts(what: str) -> Iterator[None]:
    try:
        yield
    except IntegrityError:
        raise Conflict(f"{what} collided with a concurrent change; reload and try again") from None


def _shown(who: Principal, definition: dict) -> dict:
    """Secret parameters as saved for editors and above (who may change them), masked for viewers."""
    return definition if at_least(who.role, Role.EDITOR) else masked(definition)


def workflow_out(session: Session, workflow: Workflow, who: Principal) -> WorkflowOut:
    shown = _shown(who, service.latest_version(session, workflow).definition)
    return WorkflowOut(
        **WorkflowSummary.model_validate(workflow).model_dump(), created_by=workflow.created_by,
        active_version=service.active_version_number(session, workflow),
        versions=service.version_numbers(session, workflow),
        definition=shown, warnings=service.definition_warnings(shown))  # on what the caller sees: no secret


@router.get("", response_model=WorkflowPage)
def list_workflows(db: Db, who: Viewer, search: str | None = None, tag: str | None = None,
                   active: bool | None = None, limit: Limit = 20, offset: Offset = 0) -> WorkflowPage:
    items, total = service.list_workflows(db, who.team_id, search=search, tag=tag, active=active,
                                          limit=limit, offset=offset)
    return WorkflowPage(items=[WorkflowSummary.model_validate(w) for w in items], total=total,
                        limit=limit, offset=offset)


@router.post("", response_model=WorkflowOut, status_code=201)
def create_workflow(body: WorkflowCreate, db: Db, who: Editor) -> WorkflowOut:
    workflow = service.create_workflow(db, team_id=who.team_id, user_id=who.user_id, name=body.name,
                                       definition=body.definition, description=body.description,
                                       tags=body.tags, message=body.message)
    return workflow_out(db, workflow, who)


@router.post("/import", response_model=WorkflowOut, status_code=201)
def import_workflow(body: WorkflowFile, db: Db, who: Editor) -> WorkflowOut:
    return workflow_out(db, transfer.import_file(db, body, team_id=who.team_id, user_id=who.user_id), who)


@router.post("/import/n8n", response_model=N8nImportOut, status_code=201)
def import_n8n_workflow(body: Annotated[dict[str, Any], Body(description="An n8n workflow export")], db: Db,
                        who: Editor) -> N8nImportOut:
    """Convert an n8n workflow and create it; ``report`` lists what could not be converted (those nodes are
    disabled). A file that is not an n8n workflow, too large or deep, or reaching for the host: 422, nothing made."""
    workflow, report = n8n_service.import_n8n(db, body, team_id=who.team_id, user_id=who.user_id)
    return N8nImportOut(workflow=workflow_out(db, workflow, who), report=report)


@router.get("/{workflow_id}", response_model=WorkflowOut)
def get_workflow(workflow_id: str, db: Db, who: Viewer) -> WorkflowOut:
    return workflow_out(db, service.get_workflow(db, who.team_id, workflow_id), who)


@router.patch("/{workflow_id}", response_model=WorkflowOut)
@router.put("/{workflow_id}", response_model=WorkflowOut, include_in_schema=False)
def update_workflow(workflow_id: str, body: WorkflowUpdate, db: Db, who: Editor) -> WorkflowOut:
    workflow = service.get_workflow(db, who.team_id, workflow_id)
    changes = body.model_dump(include={"name", "description", "tags", "definition"}, exclude_none=True)
    with _conflicts(f"saving workflow {workflow_id}"):
        service.update_workflow(db, workflow, user_id=who.user_id, changes=changes,
                                base_version=body.base_version, message=body.message)
    return workflow_out(db, workflow, who)


@router.delete("/{workflow_id}", status_code=204)
def delete_workflow(workflow_id: str, db: Db, who: Editor) -> Response:
    workflow = service.get_workflow(db, who.team_id, workflow_id)
    vendorhooks.unregister_workflow(db, workflow.id)  # its GitHub/Stripe/Telegram webhooks go with it
    service.delete_workflow(db, workflow, user_id=who.user_id)
    return Response(status_code=204)


@router.post("/{workflow_id}/duplicate", response_model=WorkflowOut, status_code=201)
def duplicate_workflow(workflow_id: str, db: Db, who: Editor) -> WorkflowOut:
    workflow = service.get_workflow(db, who.team_id, workflow_id)
    return workflow_out(db, service.duplicate_workflow(db, workflow, user_id=who.user_id), who)


@router.get("/{workflow_id}/export")
def export_workflow(workflow_id: str, db: Db, who: Viewer, response: Response) -> dict:
    workflow = service.get_workflow(db, who.team_id, workflow_id)
    filename = "".join(c if c.isalnum() or c in "-_" else "_" for c in workflow.name)[:80] or "workflow"
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}.json"'
    exported = transfer.export_file(db, workflow)
    return {**exported, "nodes": _shown(who, {"nodes": exported["nodes"]})["nodes"]}


@router.get("/{workflow_id}/versions", response_model=VersionPage)
def list_versions(workflow_id: str, db: Db, who: Viewer, limit: Limit = 20, offset: Offset = 0) -> VersionPage:
    workflow = service.get_workflow(db, who.team_id, workflow_id)
    rows, total = service.list_versions(db, workflow, limit=limit, offset=offset)
    return VersionPage(items=[VersionSummary.model_validate(r) for r in rows], total=total,
                       limit=limit, offset=offset)


@router.get("/{workflow_id}/versions/{number}", response_model=VersionOut)
def get_version(workflow_id: str, number: VersionNumber, db: Db, who: Viewer) -> VersionOut:
    workflow = service.get_workflow(db, who.team_id, workflow_id)
    version = VersionOut.model_validate(service.get_version(db, workflow, number))
    return version.model_copy(update={"definition": _shown(who, version.definition)})


@router.post("/{workflow_id}/versions/{number}/restore", response_model=WorkflowOut)
def restore_version(workflow_id: str, number: VersionNumber, db: Db, who: Editor) -> WorkflowOut:
    workflow = service.get_workflow(db, who.team_id, workflow_id)
    with _conflicts(f"restoring workflow {workflow_id}"):
        service.restore_version(db, workflow, number, user_id=who.user_id)
    return workflow_out(db, workflow, who)


@router.get("/{workflow_id}/diff")
def diff_versions(workflow_id: str, db: Db, who: Viewer, from_version: Annotated[int, Query(ge=1, le=MAX_INT)],
                  to_version: Annotated[int | None, Query(ge=1, le=MAX_INT)] = None) -> dict:
    """What changed from one version to another (default: to the newest)."""
    workflow = service.get_workflow(db, who.team_id, workflow_id)
    old = service.get_version(db, workflow, from_version)
    new = service.get_version(db, workflow, to_version or workflow.latest_version)
    return {"from_version": old.number, "to_version": new.number,
            **diff_definitions(_shown(who, old.definition), _shown(who, new.definition))}


@router.post("/{workflow_id}/diff")
def diff_draft(workflow_id: str, body: DraftDiffRequest, db: Db, who: Viewer) -> dict:
    """What changed from a saved version to a definition being edited (unsaved changes included)."""
    workflow = service.get_workflow(db, who.team_id, workflow_id)
    old = service.get_version(db, workflow, body.from_version)
    return {"from_version": old.number, "to_version": None,
            **diff_definitions(_shown(who, old.definition), body.definition.model_dump(by_alias=True))}


@router.post("/{workflow_id}/activate", response_model=WorkflowOut)
def activate_workflow(workflow_id: str, db: Db, who: Editor) -> WorkflowOut:
    workflow = service.get_workflow(db, who.team_id, workflow_id)
    try:
        return workflow_out(db, activation.activate(db, workflow, user_id=who.user_id), who)
    except vendorhooks.RegistrationFailed as exc:  # rolled back; the trigger's status keeps the vendor's message
        db.rollback()
        vendorhooks.record_failure(exc)
        raise


@router.post("/{workflow_id}/deactivate", response_model=WorkflowOut)
def deactivate_workflow(workflow_id: str, db: Db, who: Editor) -> WorkflowOut:
    workflow = service.get_workflow(db, who.team_id, workflow_id)
    return workflow_out(db, activation.deactivate(db, workflow, user_id=who.user_id), who)


@router.get("/{workflow_id}/triggers", response_model=TriggerStatusOut)
def workflow_triggers(workflow_id: str, db: Db, who: Viewer) -> TriggerStatusOut:
    """The listener triggers of the active workflow: listening, or the error that stops them (and the retry);
    and its vendor webhook triggers: registered at the vendor (with the URL it calls) or not, and the last error."""
    from backend.listeners.service import list_workflow_listeners

    workflow = service.get_workflow(db, who.team_id, workflow_id)
    return TriggerStatusOut(active=workflow.active, listeners=[
        TriggerListenerOut.model_validate(row) for row in list_workflow_listeners(db, workflow.id)], vendor_hooks=[
        VendorHookOut(node_id=row.node_id, node_type=row.node_type, vendor=row.vendor, status=row.status,
                      url=vendorhooks.public_url(row), error=row.error, registered_at=row.registered_at,
                      updated_at=row.updated_at) for row in vendorhooks.list_status(db, workflow.id)])


@router.post("/{workflow_id}/run", response_model=RunAccepted, status_code=202)
def run_workflow(workflow_id: str, db: Db, who: Editor, body: RunRequest | None = None) -> RunAccepted:
    body = body or RunRequest()
    workflow = service.get_workflow(db, who.team_id, workflow_id)
    execution = runs.start_manual_run(db, workflow, input_data=body.input, version_number=body.version,
                                      destination_node=body.destination_node)
    accepted = RunAccepted(execution_id=execution.id, status=execution.status)
    commit_then_dispatch(db, execution.id)
    return accepted
