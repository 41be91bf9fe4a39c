"""`linkflow search reindex|prune`: rebuild the Elasticsearch documents from the database, drop old months."""

from __future__ import annotations

import argparse
import json
import time
from datetime import UTC, datetime, timedelta

from backend.search.documents import AUDIT, EXECUTION, WORKFLOW


def add_parser(sub) -> None:
    search = sub.add_parser("search", help="the Elasticsearch search index (LINKFLOW_SEARCH_BACKEND=elasticsearch)")
    actions = search.add_subparsers(dest="action", required=True, metavar="ACTION")
    reindex = actions.add_parser("reindex", help="write every workflow and execution of the database into "
                                                 "Elasticsearch again (idempotent; audit entries come from events)")
    reindex.add_argument("--only", choices=[WORKFLOW, EXECUTION], help="one kind only")
    actions.add_parser("prune", help="drop the monthly execution and audit indices older than "
                                     "LINKFLOW_EXECUTIONS_RETENTION_DAYS")


def search_command(args: argparse.Namespace) -> int:
    from backend.search.elastic import get_index
    from backend.settings import get_settings

    settings = get_settings()
    if settings.search.backend != "elasticsearch":
        raise ValueError("search commands need LINKFLOW_SEARCH_BACKEND=elasticsearch (the SQL backend reads "
                         "the database directly and keeps no index)")
    index = get_index()
    if args.action == "reindex":
        from backend.search.indexer import reindex

        started = time.perf_counter()
        kinds = (args.only,) if args.only else (WORKFLOW, EXECUTION)
        counts = reindex(index, settings.search.bulk_size, settings.search.max_field_chars, kinds=kinds)
        print(json.dumps({"indexed": counts, "seconds": round(time.perf_counter() - started, 2)}))
        return 0
    dropped = prune(index, settings.executions.retention_days)
    print(json.dumps({"dropped": dropped}))
    return 0


def prune(index, retention_days: int, now: datetime | None = None) -> list[str]:
    """Drop the execution and audit indices of the months wholly before the retention window."""
    if not retention_days:
        return []
    before = (now or datetime.now(UTC)) - timedelta(days=retention_days)
    return index.drop_indices_before(EXECUTION, before) + index.drop_indices_before(AUDIT, before)
