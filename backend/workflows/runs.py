"""Manual runs: "Run" in the editor and ``POST /workflows/{id}/run``."""

from __future__ import annotations

from sqlalchemy.orm import Session

from backend.billing import hooks as billing
from backend.errors import UserError
from backend.executions.models import Execution
from backend.executions.service import create_execution, trigger_fired
from backend.workflows.models import Workflow
from backend.workflows.service import checked_definition, get_version, latest_version

RUN_OPTIONS = "run_options"  # in an execution's definition snapshot: how this one run was asked for


class UnknownNode(UserError):
    status_code = 422
    code = "unknown_node"


def start_manual_run(session: Session, workflow: Workflow, *, input_data: dict | list,
                     version_number: int | None = None, destination_node: str | None = None) -> Execution:
    """A queued execution of the chosen version (default: the newest); dispatch it after commit.

    With ``destination_node`` only that node and what it depends on run ("Run this node");
    the option travels in the execution's definition snapshot under ``run_options``.
    """
    version = (get_version(session, workflow, version_number) if version_number is not None
               else latest_version(session, workflow))
    checked_definition(version.definition)  # the node registry may have changed since it was saved
    definition = {"name": workflow.name, **version.definition}
    if destination_node is not None:
        names = [node.get("name") for node in version.definition.get("nodes") or []]
        if destination_node not in names:
            raise UnknownNode(f"node {destination_node!r} does not exist in version {version.number} of workflow "
                            f"{workflow.id}; save the workflow first, or pick one of: {', '.join(names[:20])}")
        definition[RUN_OPTIONS] = {"destination_node": destination_node}
    billing.admit_execution(workflow.team_id, "manual")  # 402 past the plan's executions
    execution = create_execution(session, team_id=workflow.team_id, definition=definition, mode="manual",
                                 input_items=input_items(input_data), workflow_id=workflow.id,
                                 version_id=version.id)
    trigger_fired(session, execution, "manual")
    return execution


def input_items(data: dict | list) -> list[dict]:
    """Objects become items ``{"json": object}``; objects that already are items stay as they are."""
    values = data if isinstance(data, list) else [data]
    return [v if "json" in v and set(v) <= {"json", "binary"} else {"json": v} for v in values]
