"""`linkflow import n8n FILE.json [--team ID|NAME] [--output OUT.json]`."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def add_parser(kinds: argparse._SubParsersAction) -> None:
    """``n8n`` under ``linkflow import`` (backend/cli_transfer.py makes the ``import`` command)."""
    n8n = kinds.add_parser("n8n", help="convert an n8n workflow export and create it (or write it with --output)")
    n8n.add_argument("file", help="the n8n workflow JSON file (as n8n's 'Download' or export:workflow writes it)")
    n8n.add_argument("--team", help="team id or name to create it in (default: the first team created)")
    n8n.add_argument("--output", help="write the converted LinkFlow workflow file here instead "
                                      "(`linkflow run OUT.json` runs it); nothing is created")


def import_command(args: argparse.Namespace) -> int:
    from backend.workflows.n8n.convert import N8nImportError

    try:
        text = Path(args.file).read_bytes()
    except OSError as exc:
        print(f"linkflow: cannot read {args.file}: {exc.strerror}", file=sys.stderr)
        return 2
    try:
        summary = _write(text, Path(args.output)) if args.output else _create(text, args.team)
    except N8nImportError as exc:
        print(f"linkflow: {args.file}: {exc.message}", file=sys.stderr)
        if exc.details:
            print(json.dumps(exc.details, indent=2), file=sys.stderr)
        return 2
    print(json.dumps(summary, indent=2))
    return 0


def _write(text: bytes, output: Path) -> dict:
    from backend.workflows.n8n.service import convert_file

    result = convert_file(text)
    output.write_text(json.dumps(result.workflow, indent=2, ensure_ascii=False))
    return {"output": str(output), "name": result.workflow["name"], "nodes": len(result.workflow["nodes"]),
            "report": result.report}


def _create(text: bytes, team: str | None) -> dict:
    from backend.db.session import session_scope
    from backend.errors import UserError
    from backend.workflows.n8n.convert import N8nImportError
    from backend.workflows.n8n.service import import_n8n

    with session_scope() as session:
        team_id = _team(session, team)
        try:
            workflow, report = import_n8n(session, text, team_id=team_id, user_id=None)
        except N8nImportError:
            raise
        except UserError as exc:
            raise N8nImportError(exc.message, getattr(exc, "details", None)) from None
        return {"workflow_id": workflow.id, "name": workflow.name, "team_id": team_id, "report": report}


def _team(session, team: str | None) -> str:
    from sqlalchemy import or_, select

    from backend.users.models import Team
    from backend.workflows.n8n.convert import N8nImportError

    query = select(Team.id).order_by(Team.created_at, Team.id).limit(2)
    if team:
        query = select(Team.id).where(or_(Team.id == team, Team.name == team, Team.slug == team)).limit(2)
    found = list(session.scalars(query))
    if not found:
        raise N8nImportError(f"no team {team!r}" if team else "there is no team yet: create a user first "
                             "(linkflow user create)")
    if team and len(found) > 1:
        raise N8nImportError(f"several teams are named {team!r}; give the team's id")
    return found[0]
