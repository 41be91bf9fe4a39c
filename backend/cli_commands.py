"""What each `linkflow` subcommand does (the parser lives in backend/cli.py)."""

from __future__ import annotations

import argparse
import json
import sys

from backend.settings import get_settings


def db_command(args: argparse.Namespace) -> int:
    from backend.db import migrate

    url = get_settings().database_url
    if args.action == "upgrade":
        migrate.upgrade(url, args.revision or "head")
    elif args.action == "downgrade":
        migrate.downgrade(url, args.revision or "base")
    else:
        from backend.db.session import make_engine

        print(migrate.current_revision(make_engine(url)) or "empty (no migrations applied)")
    return 0


def user_command(args: argparse.Namespace) -> int:
    from backend.db.session import session_scope
    from backend.errors import UserError
    from backend.users.service import create_user

    try:
        with session_scope() as session:
            user, team = create_user(session, email=args.email, password=args.password, name=args.name,
                                     is_admin=args.admin)
            print(json.dumps({"user_id": user.id, "email": user.email, "team_id": team.id,
                              "admin": user.is_admin}))
    except UserError as exc:
        print(f"linkflow: {exc.message}", file=sys.stderr)
        return 2
    return 0


def credentials_command(args: argparse.Namespace) -> int:
    from backend.auth.two_factor import reseal_secrets as reseal_two_factor
    from backend.credentials.crypto import current_vault, rotate
    from backend.db.session import session_scope
    from backend.errors import UserError
    from backend.variables.service import reseal_secrets
    from backend.vendorhooks.service import reseal_secrets as reseal_vendor_hooks

    try:
        with session_scope() as session:  # one transaction: credentials, secret variables, 2FA and webhook secrets
            count = rotate(session)
            variables = reseal_secrets(session)
            two_factor = reseal_two_factor(session)
            vendor_hooks = reseal_vendor_hooks(session)
    except UserError as exc:  # a row sealed with a key that is no longer listed: nothing was changed
        print(f"linkflow: {exc.message}; nothing was changed", file=sys.stderr)
        return 2
    print(json.dumps({"rotated": count, "secret_variables": variables, "two_factor_secrets": two_factor,
                      "vendor_webhook_secrets": vendor_hooks, "key_id": current_vault().current_kid}))
    return 0


def run_command(args: argparse.Namespace) -> int:
    from backend.executions.local_run import run_file

    return run_file(args.file, args.input)


def serve_command(args: argparse.Namespace) -> int:
    if args.role == "code-runner":  # before get_settings(): this role holds none of the platform's secrets
        from backend.sandbox.server import serve

        return serve(args.host, args.port)
    settings = get_settings()
    if settings.queue.backend == "memory":
        print("linkflow: warning: the in-process queue has no worker in `serve`; runs stay queued. "
              "Use `linkflow up`, or LINKFLOW_QUEUE_BACKEND=redis with `linkflow worker`.", file=sys.stderr)
    _prepare_database()
    from backend.app import create_app
    from backend.memory import keep_trimmed
    from backend.observability import freeze_startup_heap
    from backend.processes import bounded_server

    server = bounded_server(create_app(), host=args.host or settings.http.host, port=args.port or settings.http.port)
    freeze_startup_heap()
    keep_trimmed()
    server.run()
    return 0 if server.started else 1


def _prepare_database() -> None:
    from backend.db import migrate

    settings = get_settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    migrate.upgrade(settings.database_url)
