"""`linkflow analytics rebuild --since`: recompute the Insights rollups from the executions table."""

from __future__ import annotations

import argparse
import json
from datetime import datetime


def add_parser(sub) -> None:
    analytics = sub.add_parser("analytics", help="recompute the Insights rollups from the executions table")
    actions = analytics.add_subparsers(dest="action", required=True, metavar="ACTION")
    rebuild = actions.add_parser("rebuild", help="delete and recompute the rollups from a UTC day on")
    rebuild.add_argument("--since", required=True, type=_moment,
                         help="ISO 8601 with a time zone, e.g. 2026-11-01T00:00:00+00:00 (its UTC day on)")


def analytics_command(args: argparse.Namespace) -> int:
    from backend.analytics.rebuild import rebuild
    from backend.db.session import session_scope

    with session_scope() as session:
        print(json.dumps(rebuild(session, args.since)))
    return 0


def _moment(text: str) -> datetime:
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        raise argparse.ArgumentTypeError(f"--since needs a time zone, e.g. {text}+00:00")
    return moment
