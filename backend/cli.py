"""The `linkflow` command: one entry point for every role of the one container image."""

from __future__ import annotations

import argparse
import faulthandler
import json
import signal
import sys
from collections.abc import Callable, Sequence
from importlib.metadata import entry_points

from backend import cli_transfer
from backend.analytics import cli as analytics_cli
from backend.billing import cli as billing_cli
from backend.cli_commands import (
    credentials_command,
    db_command,
    run_command,
    serve_command,
    user_command,
)
from backend.events import cli as kafka_cli
from backend.search import cli as search_cli
from backend.storage import cli as storage_cli

ROLE_GROUP = "linkflow.roles"  # up, ui, worker, scheduler, consume: long-running roles outside backend/


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="linkflow", description="LinkFlow workflow automation")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    up = sub.add_parser("up", help="run every role in one process (embedded mode) and print the URL")
    up.add_argument("--host", help="interface to listen on (default LINKFLOW_HTTP_HOST)")
    up.add_argument("--port", type=int, help="port to listen on (default LINKFLOW_HTTP_PORT)")

    serve = sub.add_parser("serve", help="serve HTTP for one role")
    serve.add_argument("--role", required=True, choices=["api", "webhook", "ui", "code-runner"],
                       help="code-runner: runs Code node jobs for workers (LINKFLOW_CODE_SANDBOX=remote); "
                            "reads only LINKFLOW_MODE, LINKFLOW_CODE_* and LINKFLOW_HTTP_*")
    serve.add_argument("--host")
    serve.add_argument("--port", type=int)

    sub.add_parser("worker", help="run a Dramatiq worker that executes workflows")
    sub.add_parser("scheduler", help="fire due schedules and run Redis/Kafka triggers (leader-elected)")
    consume = sub.add_parser("consume", help="run the event consumer of one service")
    consume.add_argument("--service", required=True, help="audit, notifications (with its notification-rules and "
                                                          "notification-delivery groups), analytics, search or billing")

    db = sub.add_parser("db", help="database migrations")
    db.add_argument("action", choices=["upgrade", "downgrade", "current"])
    db.add_argument("revision", nargs="?", help="target revision (default head / base)")

    user = sub.add_parser("user", help="manage users")
    user_sub = user.add_subparsers(dest="action", required=True, metavar="ACTION")
    create = user_sub.add_parser("create", help="create a user (and a personal team)")
    create.add_argument("--email", required=True)
    create.add_argument("--password", required=True)
    create.add_argument("--name", default="")
    create.add_argument("--admin", action="store_true", help="make the user an instance admin")

    credentials = sub.add_parser("credentials", help="manage the credentials vault")
    credentials.add_argument("action", choices=["rotate-key"],
                             help="rotate-key: re-encrypt every credential under the first key of "
                                  "LINKFLOW_SECURITY_VAULT_KEYS")

    billing_cli.add_parser(sub)
    kafka_cli.add_parser(sub)
    analytics_cli.add_parser(sub)
    storage_cli.add_parser(sub)
    search_cli.add_parser(sub)
    cli_transfer.add_parsers(sub)

    run = sub.add_parser("run", help="execute one workflow file in embedded mode and print the result")
    run.add_argument("file", help="workflow JSON file")
    run.add_argument("--input", default=None,
                     help='input items as JSON, e.g. \'{"n": 2}\' or a list; @FILE reads it from a file, '
                          '- from standard input')
    return parser


def _role(name: str) -> Callable[[argparse.Namespace], int]:
    for ep in entry_points(group=ROLE_GROUP):
        if ep.name == name:
            return ep.load()
    raise SystemExit(f"linkflow: the '{name}' role is not installed (entry point group {ROLE_GROUP})")


def _serve(args: argparse.Namespace) -> int:
    if args.role == "ui":
        return _role("ui")(args)
    return serve_command(args)


COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {
    "serve": _serve,
    "db": db_command,
    "user": user_command,
    "run": run_command,
    "credentials": credentials_command,
    "billing": billing_cli.billing_command,
    "kafka": kafka_cli.kafka_command,
    "analytics": analytics_cli.analytics_command,
    "storage": storage_cli.storage_command,
    "search": search_cli.search_command,
    "import": cli_transfer.import_command,
    "export": cli_transfer.export_command,
}


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if _freezes_startup_heap(args):
        from backend.observability import pause_collection_for_startup

        pause_collection_for_startup()  # until the role has started (freeze_startup_heap)
    handler = COMMANDS.get(args.command) or _role(args.command)
    if _freezes_startup_heap(args):
        # `kill -USR1 <pid>` prints every thread's stack to stderr, the process going on: for a server that
        # stops answering (the e2e fixture sends it when a test fails)
        faulthandler.register(signal.SIGUSR1, all_threads=True)
    try:
        if not _is_code_runner(args):  # the code-runner role reads only its own, secret-free settings
            _configure_logging(args.command)
            _start_observability(args)
        return handler(args) or 0
    except KeyboardInterrupt:
        return 130
    except ValueError as exc:  # bad settings or arguments: say what, no traceback
        print(json.dumps({"error": str(exc)}) if args.command == "run" else f"linkflow: {exc}",
              file=sys.stderr)
        return 2


def _freezes_startup_heap(args: argparse.Namespace) -> bool:
    """The roles that call `freeze_startup_heap` once started: up, worker, serve (not the code-runner)."""
    return args.command in ("up", "worker") or (args.command == "serve" and not _is_code_runner(args))


def _is_code_runner(args: argparse.Namespace) -> bool:
    return args.command == "serve" and args.role == "code-runner"


def _start_observability(args: argparse.Namespace) -> None:
    """Tracing (if enabled) for every long-running role; the ops listener for the roles without HTTP."""
    from backend import ops_server, tracing

    if args.command == "serve":
        tracing.configure(args.role)
        if args.role == "api":  # one role reports the backlog from the database, not every pod
            from backend.metrics import register_database_collector

            register_database_collector()
    elif args.command in ops_server.ROLES:
        tracing.configure(args.command if args.command != "consume" else f"consume-{args.service}")
        ops_server.start(args.command)


def _configure_logging(command: str) -> None:
    from backend import logging as lf_logging
    from backend.settings import get_settings

    settings = get_settings()
    # `run`, `billing`, `kafka` and `analytics` print their results as JSON on stdout, so their logs go to stderr.
    lf_logging.configure(settings.log_level, settings.log_format,
                         sys.stderr if command in ("run", "billing", "kafka", "analytics", "import", "export") else None)


if __name__ == "__main__":
    sys.exit(main())
