"""`linkflow export workflows|credentials` and `linkflow import workflows|credentials|n8n` (like n8n's
`export:workflow`, `import:workflow`, `export:credentials`, `import:credentials`)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from backend.workflows.n8n import cli as n8n_cli

MAX_FILE_BYTES = 50_000_000


def add_parsers(sub: argparse._SubParsersAction) -> None:
    imports = sub.add_parser("import", help="import workflows or credentials from a file (LinkFlow's or n8n's)")
    kinds = imports.add_subparsers(dest="source", required=True, metavar="WHAT")
    n8n_cli.add_parser(kinds)
    for what in ("workflows", "credentials"):
        parser = kinds.add_parser(what, help=f"create the {what} of a file written by `linkflow export {what}`")
        parser.add_argument("file")
        parser.add_argument("--team", help="team id or name (default: the first team created)")
    exports = sub.add_parser("export", help="write a team's workflows or credentials to a JSON file")
    targets = exports.add_subparsers(dest="target", required=True, metavar="WHAT")
    workflows = targets.add_parser("workflows", help="every workflow of the team (latest versions) as a JSON list")
    credentials = targets.add_parser("credentials", help="the team's credentials, encrypted with the vault's key")
    credentials.add_argument("--decrypted", action="store_true",
                             help="write the values in plain text (keep the file secret)")
    for parser in (workflows, credentials):
        parser.add_argument("--team", help="team id or name (default: the first team created)")
        parser.add_argument("--output", help="the file to write (default: standard output)")


def import_command(args: argparse.Namespace) -> int:
    if args.source == "n8n":
        return n8n_cli.import_command(args)
    return _guarded(lambda: _import(args))


def export_command(args: argparse.Namespace) -> int:
    return _guarded(lambda: _export(args))


def _guarded(action) -> int:
    from backend.errors import UserError

    try:
        summary = action()
        if summary is not None:
            print(json.dumps(summary, indent=2))
    except UserError as exc:
        print(f"linkflow: {exc.message}; nothing was changed", file=sys.stderr)
        if getattr(exc, "details", None):
            print(json.dumps(exc.details, indent=2), file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"linkflow: {exc.filename or ''}: {exc.strerror}", file=sys.stderr)
        return 2
    return 0


def _import(args: argparse.Namespace) -> dict:
    from backend import json_limits
    from backend.db.session import session_scope
    from backend.errors import UserError

    raw = Path(args.file).read_bytes()
    if len(raw) > MAX_FILE_BYTES:
        raise UserError(f"{args.file} is {len(raw):,} bytes; at most {MAX_FILE_BYTES:,} are imported")
    try:
        data = json_limits.loads(raw, what=args.file)
    except ValueError as exc:
        raise UserError(f"{args.file} is not valid JSON: {exc}") from None
    with session_scope() as session:  # one transaction: all of the file or none of it
        team_id = n8n_cli._team(session, args.team)
        if args.source == "credentials":
            from backend.credentials.transfer import import_credentials

            return {"team_id": team_id, "credentials": import_credentials(session, team_id, data)}
        return {"team_id": team_id, **_import_workflows(session, team_id, data)}


def _import_workflows(session, team_id: str, data: object) -> dict:
    from pydantic import ValidationError

    from backend.errors import UserError
    from backend.workflows.schemas import WorkflowFile
    from backend.workflows.transfer import import_file, rebind_credentials

    files = data if isinstance(data, list) else [data]
    created, dropped = [], []
    for index, raw in enumerate(files):
        if not isinstance(raw, dict):
            raise UserError(f"workflows[{index}] is not a workflow object")
        dropped += [f"{raw.get('name')!r} {d}" for d in rebind_credentials(session, raw, team_id)]
        try:
            file = WorkflowFile.model_validate(raw)
        except ValidationError as exc:
            problem = exc.errors()[0]
            raise UserError(f"workflows[{index}]: {'.'.join(map(str, problem['loc']))}: {problem['msg']}") from None
        created.append(import_file(session, file, team_id=team_id, user_id=None).id)
    return {"workflows": created, "unbound_credentials": dropped}


def _export(args: argparse.Namespace) -> dict | None:
    from sqlalchemy import select

    from backend.db.session import session_scope

    with session_scope() as session:
        team_id = n8n_cli._team(session, args.team)
        if args.target == "credentials":
            from backend.credentials.transfer import export_credentials

            data = export_credentials(session, team_id, decrypted=args.decrypted)
        else:
            from backend.workflows.models import Workflow
            from backend.workflows.transfer import export_file

            rows = session.scalars(select(Workflow).where(Workflow.team_id == team_id).order_by(Workflow.name))
            data = [export_file(session, row, credential_names=True) for row in rows]
    text = json.dumps(data, indent=2, ensure_ascii=False)
    if not args.output:
        sys.stdout.write(text + "\n")  # the data itself is the output
        return None
    Path(args.output).write_text(text)
    return {"team_id": team_id, "output": args.output, args.target: len(data)}
