"""Import an n8n workflow: convert it, make it valid, bind credentials by name, create it in a team.

    workflow, report = import_n8n(session, text, team_id=team.id, user_id=user.id)
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from backend.engine.validate import validate
from backend.workflows.n8n.convert import Result, convert, parse
from backend.workflows.schemas import WorkflowFile
from nodes.sdk import default_registry

MAX_SETTLE_ROUNDS = 3


def settle(result: Result) -> Result:
    """Nodes LinkFlow's validator refuses become disabled No-ops (reported); their extra ports' links drop."""
    workflow = result.workflow
    for _ in range(MAX_SETTLE_ROUNDS):
        problems = validate(workflow, default_registry())
        bad = {p.node for p in problems if p.node}
        if not problems or not bad:
            break
        by_name = {n["name"]: n for n in workflow["nodes"]}
        for problem in problems:
            if problem.node in by_name:
                result.report.append({"node": problem.node, "parameter": None, "expression": None,
                                      "reason": f"LinkFlow refuses the converted node: {problem.message}",
                                      "severity": "error"})
        for name in bad & set(by_name):
            node = by_name[name]
            node.update(type="noop", parameters={}, disabled=True, credentials={},
                        notes=(f"Not converted; see the import report. {node.get('notes', '')}")[:10_000])
        ids = {by_name[name]["id"] for name in bad & set(by_name)}
        workflow["connections"] = [c for c in workflow["connections"]
                                   if not (c["from"] in ids and c["output"] != "main")
                                   and not (c["to"] in ids and c["input"] != "main")]
        workflow["pin_data"] = {k: v for k, v in workflow["pin_data"].items() if k not in bad}
    return result


def _load(source: str | bytes | dict) -> dict:
    if isinstance(source, dict):  # already parsed (an API body): measure it as the file it came from
        import json

        return parse(json.dumps(source, ensure_ascii=False))
    return parse(source)


def convert_file(source: str | bytes | dict) -> Result:
    """Parse, convert and settle; no database needed (``linkflow import n8n --output``)."""
    result = settle(convert(_load(source)))
    for ref in result.credentials:
        result.report.append({"node": ref["node_name"], "parameter": f"credentials.{ref['slot']}", "expression": None,
                              "severity": "warning",
                              "reason": f"credential {ref['name']!r} ({ref['type']}): bind it in the editor"})
    return result


def bind_credentials(session: Session, result: Result, team_id: str) -> None:
    from backend.credentials.service import list_credentials

    by_id = {n["id"]: n for n in result.workflow["nodes"]}
    for ref in result.credentials:
        matches = [c for c in list_credentials(session, team_id, type=ref["type"]) if c.name == ref["name"]]
        node = by_id.get(ref["node"])
        if matches and node is not None and node["type"] != "noop":
            node.setdefault("credentials", {})[ref["slot"]] = matches[0].id
        else:
            result.report.append({"node": ref["node_name"], "parameter": f"credentials.{ref['slot']}",
                                  "expression": None, "severity": "warning",
                                  "reason": f"no {ref['type']} credential named {ref['name']!r} in this team; "
                                            "create it and bind it in the editor"})


def import_n8n(session: Session, source: str | bytes | dict, *, team_id: str, user_id: str | None):
    """Create the converted workflow in ``team_id``; returns (workflow row, report)."""
    from backend.workflows.transfer import import_file

    result = settle(convert(_load(source)))
    bind_credentials(session, result, team_id)
    workflow = import_file(session, WorkflowFile(**result.workflow), team_id=team_id, user_id=user_id)
    return workflow, result.report
