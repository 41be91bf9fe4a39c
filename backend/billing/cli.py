"""`linkflow billing report|reconcile`: the reporting and reconciliation of billing, by hand or from cron."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import datetime


def add_parser(sub) -> None:
    billing = sub.add_parser("billing", help="send overage to Stripe now, or compare and repair usage")
    actions = billing.add_subparsers(dest="action", required=True, metavar="ACTION")
    actions.add_parser("report", help="send metered overage to Stripe (what workers do every minute)")
    reconcile = actions.add_parser("reconcile", help="compare executions, usage counters, reports and Stripe's "
                                                     "meter for a period; repair what is off")
    reconcile.add_argument("--team", help="one team id (default: every team)")
    reconcile.add_argument("--at", help="a moment in the period to check, ISO 8601 (default: now)")
    reconcile.add_argument("--dry-run", action="store_true", help="only report the differences")


def billing_command(args: argparse.Namespace) -> int:
    from backend.billing.plans import enabled

    if not enabled():
        print("linkflow: billing is off (LINKFLOW_BILLING_BACKEND=free): nothing is metered or billed",
              file=sys.stderr)
        return 2
    if args.action == "report":
        from backend.billing.reporting import report_overage

        print(json.dumps(vars(report_overage())))
        return 0
    from backend.billing.reconcile import reconcile

    at = _moment(args.at) if args.at else None
    reports = reconcile(team_id=args.team, at=at, repair=not args.dry_run)
    for report in reports:
        print(json.dumps(report.as_dict()))
    off = [r for r in reports if r.unmetered or r.counter != r.metered or (r.stripe is not None and r.stripe != r.reported)]
    print(json.dumps({"teams": len(reports), "with_differences": len(off), "repaired": not args.dry_run}))
    return 1 if off and args.dry_run else 0


def _moment(text: str) -> datetime:
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        raise ValueError(f"--at needs a time zone, e.g. {text}+00:00")
    return moment
