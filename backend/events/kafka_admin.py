"""Kafka topics as topics.py sets them, and what the cluster holds: `linkflow kafka ensure-topics|status`.

`ensure_topics` creates a missing topic with the table's partitions and retention and the configured
replication factor, adds partitions to a topic that has fewer, and sets a retention that differs
(keeping the topic's other settings). Kafka cannot take partitions away: a topic with more than the
table says is reported, not changed. The relay runs it at start-up (executors/relay.py).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field

from backend.events.topics import TOPIC_TABLE, Topic
from backend.settings import EventsSettings, get_settings

log = logging.getLogger("linkflow.events.kafka")
TOPIC_ALREADY_EXISTS = 36
DYNAMIC_TOPIC_CONFIG = 1  # config_source of a setting made on the topic itself (describe_configs)
REQUEST_TIMEOUT_MS = 15_000
READY_TIMEOUT_S = 15.0


@dataclass
class TopicReport:
    topic: str
    partitions: int
    retention_ms: int | None
    actions: list[str] = field(default_factory=list)  # what ensure_topics changed: created, partitions ..., ...
    problem: str | None = None


@dataclass
class GroupReport:
    group: str
    lag: int
    partitions: dict[str, int]  # "topic[partition]" -> records not yet consumed


def _admin(settings: EventsSettings):
    from aiokafka.admin import AIOKafkaAdminClient

    return AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap, request_timeout_ms=REQUEST_TIMEOUT_MS)


async def ensure_topics(settings: EventsSettings | None = None,
                        table: Sequence[Topic] = TOPIC_TABLE) -> list[TopicReport]:
    """Create or correct every topic of `table` (names get the topic prefix)."""
    settings = settings or get_settings().events
    admin = _admin(settings)
    await admin.start()
    try:
        reports = []
        for topic in table:
            reports.append(await _ensure(admin, settings, topic))
        await _until_led(admin, [r.topic for r in reports if r.actions])
        return reports
    finally:
        await admin.close()


async def _until_led(admin, names: list[str], timeout_s: float = READY_TIMEOUT_S) -> None:
    """Wait until every partition of `names` has a leader: a consumer that subscribes earlier may not see the
    topic for minutes (until its next metadata refresh), and the first sends are refused."""
    deadline = asyncio.get_running_loop().time() + timeout_s
    while names and asyncio.get_running_loop().time() < deadline:
        described = await admin.describe_topics(names)
        names = [t["topic"] for t in described
                 if t["error_code"] or not t["partitions"] or any(p["leader"] < 0 for p in t["partitions"])]
        if names:
            await asyncio.sleep(0.1)
    if names:
        log.warning("kafka topics without a leader yet", extra={"topics": names})


async def _ensure(admin, settings: EventsSettings, topic: Topic) -> TopicReport:
    from aiokafka.admin import NewTopic

    name = settings.topic_prefix + topic.name
    report = TopicReport(name, topic.partitions, topic.retention_ms)
    response = await admin.create_topics([NewTopic(
        name, topic.partitions, settings.replication_factor,
        topic_configs={"retention.ms": str(topic.retention_ms)})])
    [(_, code, message)] = [(e[0], e[1], e[2]) for e in response.topic_errors]
    if code == 0:
        report.actions.append("created")
        log.info("kafka topic created", extra={"topic": name, "partitions": topic.partitions})
        return report
    if code != TOPIC_ALREADY_EXISTS:
        raise RuntimeError(f"Kafka refused to create topic {name}: error {code}: {message}")
    await _correct_partitions(admin, topic, report)
    await _correct_retention(admin, topic, report)
    return report


async def _correct_partitions(admin, topic: Topic, report: TopicReport) -> None:
    from aiokafka.admin import NewPartitions

    described = await _described(admin, report.topic)
    have = len(described["partitions"])
    if have < topic.partitions:
        await admin.create_partitions({report.topic: NewPartitions(topic.partitions)})
        report.actions.append(f"partitions {have} -> {topic.partitions}")
        log.info("kafka topic partitions added", extra={"topic": report.topic, "from": have, "to": topic.partitions})
    elif have > topic.partitions:
        report.partitions = have
        report.problem = (f"has {have} partitions, more than the {topic.partitions} planned; Kafka cannot "
                          "remove partitions (recreate the topic to shrink it)")


async def _correct_retention(admin, topic: Topic, report: TopicReport) -> None:
    from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType

    entries = await _known_configs(admin, report.topic)
    current = entries.get("retention.ms", (None, 0))[0]
    if current == str(topic.retention_ms):
        return
    # AlterConfigs replaces every setting of the topic: keep the ones set on it, change retention.ms.
    kept = {name: value for name, (value, source) in entries.items() if source == DYNAMIC_TOPIC_CONFIG}
    kept["retention.ms"] = str(topic.retention_ms)
    [response] = [r for r in await admin.alter_configs([ConfigResource(ConfigResourceType.TOPIC, report.topic,
                                                                        configs=kept)]) if r.resources]
    for code, message, *_ in response.resources:
        if code:
            raise RuntimeError(f"Kafka refused the retention of topic {report.topic}: error {code}: {message}")
    report.actions.append(f"retention.ms {current} -> {topic.retention_ms}")
    log.info("kafka topic retention set", extra={"topic": report.topic, "from": current, "to": topic.retention_ms})


async def _described(admin, name: str, timeout_s: float = READY_TIMEOUT_S) -> dict:
    """The topic as the broker describes it, once it knows it. A topic that exists (create_topics said so) may be
    unknown to the broker we ask for a moment after it was created (KRaft metadata reaches the brokers a little
    later): it is described with no partitions then, which must not be read as "0 partitions"."""
    async def describe() -> dict:
        [described] = await admin.describe_topics([name])
        return described

    return await _once_known(describe, lambda d: not d["error_code"] and d["partitions"], timeout_s,
                             f"Kafka says topic {name} exists but did not describe it")


async def _known_configs(admin, name: str, timeout_s: float = READY_TIMEOUT_S) -> dict[str, tuple[str, int]]:
    """The topic's settings, once the broker has them: an empty answer would make AlterConfigs (which replaces
    every setting of a topic) drop the settings it has."""
    return await _once_known(lambda: _topic_configs(admin, name), bool, timeout_s,
                             f"Kafka did not give the settings of topic {name}")


async def _once_known(ask, known, timeout_s: float, failure: str):
    """``await ask()`` every 0.1 s until ``known`` of its answer; after ``timeout_s`` an error starting with
    ``failure``."""
    deadline = asyncio.get_running_loop().time() + timeout_s
    while not known(answer := await ask()):
        if asyncio.get_running_loop().time() >= deadline:
            raise RuntimeError(f"{failure} within {timeout_s:g} s; run `linkflow kafka ensure-topics` again")
        await asyncio.sleep(0.1)
    return answer


async def _topic_configs(admin, name: str) -> dict[str, tuple[str, int]]:
    from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType

    responses = await admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, name)])
    configs = {}
    for response in responses:
        for resource in response.to_object()["resources"]:
            for entry in resource["config_entries"]:
                configs[entry["config_names"]] = (entry["config_value"], entry["config_source"])
    return configs


async def topic_status(settings: EventsSettings | None = None) -> list[TopicReport]:
    """Partitions and retention of every topic of the table, as the cluster has them (0: missing)."""
    settings = settings or get_settings().events
    admin = _admin(settings)
    await admin.start()
    try:
        reports = []
        for topic in TOPIC_TABLE:
            name = settings.topic_prefix + topic.name
            [described] = await admin.describe_topics([name])
            if described["error_code"]:
                reports.append(TopicReport(name, 0, None, problem="missing: run `linkflow kafka ensure-topics`"))
                continue
            retention = (await _topic_configs(admin, name)).get("retention.ms", (None, 0))[0]
            report = TopicReport(name, len(described["partitions"]), int(retention) if retention else None)
            if (report.partitions, report.retention_ms) != (topic.partitions, topic.retention_ms):
                report.problem = (f"planned {topic.partitions} partitions and retention.ms {topic.retention_ms}: "
                                  "run `linkflow kafka ensure-topics`")
            reports.append(report)
        return reports
    finally:
        await admin.close()


async def group_status(settings: EventsSettings | None = None,
                       groups: Sequence[str] | None = None) -> list[GroupReport]:
    """Every consumer group of this installation (by the topic prefix), or only `groups` (names without the
    prefix), and its lag per partition: the records past the group's committed offset. From the broker, so
    a group whose consumers are all down still shows what waits for it."""
    from aiokafka import AIOKafkaConsumer

    settings = settings or get_settings().events
    admin = _admin(settings)
    await admin.start()
    ends = AIOKafkaConsumer(bootstrap_servers=settings.kafka_bootstrap, request_timeout_ms=REQUEST_TIMEOUT_MS)
    await ends.start()
    try:
        if groups is None:
            names = sorted(g[0] for g in await admin.list_consumer_groups() if g[0].startswith(settings.topic_prefix))
        else:
            names = [settings.topic_prefix + group for group in groups]
        reports = []
        for group in names:
            committed = await admin.list_consumer_group_offsets(group)
            if not committed:
                continue
            end = await ends.end_offsets(list(committed))
            lags = {f"{tp.topic.removeprefix(settings.topic_prefix)}[{tp.partition}]":
                    max(end[tp] - meta.offset, 0) for tp, meta in committed.items() if meta.offset >= 0}
            reports.append(GroupReport(group.removeprefix(settings.topic_prefix), sum(lags.values()), lags))
        return reports
    finally:
        await ends.stop()
        await admin.close()


def as_dict(report: TopicReport | GroupReport) -> dict:
    return asdict(report)
