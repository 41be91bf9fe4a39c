"""`linkflow kafka ensure-topics|status`: the topics of topics.py on the cluster, consumer groups and lag."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys


def add_parser(sub) -> None:
    kafka = sub.add_parser("kafka", help="create or correct the event topics; show topics, groups and lag")
    actions = kafka.add_subparsers(dest="action", required=True, metavar="ACTION")
    actions.add_parser("ensure-topics", help="create missing topics, add partitions, set retention (topics.py)")
    actions.add_parser("status", help="topics (partitions, retention), consumer groups and their lag")


def kafka_command(args: argparse.Namespace) -> int:
    from backend.events import kafka_admin
    from backend.settings import get_settings

    settings = get_settings().events
    if settings.backend != "kafka":
        print("linkflow: LINKFLOW_EVENTS_BACKEND is not kafka: the in-process bus has no topics", file=sys.stderr)
        return 2
    if args.action == "ensure-topics":
        reports = asyncio.run(kafka_admin.ensure_topics(settings))
        for report in reports:
            print(json.dumps(kafka_admin.as_dict(report)))
        return 1 if any(r.problem for r in reports) else 0
    topics = asyncio.run(kafka_admin.topic_status(settings))
    groups = asyncio.run(kafka_admin.group_status(settings))
    for report in topics:
        print(json.dumps({"topic": kafka_admin.as_dict(report)}))
    for group in groups:
        print(json.dumps({"group": kafka_admin.as_dict(group)}))
    return 1 if any(r.problem for r in topics) else 0
