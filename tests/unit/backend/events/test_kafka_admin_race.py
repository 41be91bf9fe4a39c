"""ensure-topics on a topic the broker does not describe yet (it was created a moment before, and KRaft metadata
reaches the brokers a little later; `make test` caught it once): the correction waits for the topic's real
partitions and settings instead of reading "0 partitions" and "no settings", which would have reported a wrong
change and dropped the topic's other settings (AlterConfigs replaces them all).

The admin client is a stand-in here: the window is too short to hit on purpose against the real Kafka, which
tests/integration/test_kafka_topics.py uses for the rest."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from backend.events import kafka_admin
from backend.events.topics import Topic
from backend.settings import get_settings

NAME_SUFFIX = "workflow.events"


class LaggingAdmin:
    """A broker that learns about an existing topic (2 partitions, two settings of its own) after `lag` asks."""

    def __init__(self, lag: int) -> None:
        self.lag = {"describe": lag, "configs": lag}
        self.altered: list[dict] = []
        self.partitions_to: list[int] = []

    async def create_topics(self, topics):
        return SimpleNamespace(topic_errors=[(topics[0].name, kafka_admin.TOPIC_ALREADY_EXISTS, "exists")])

    async def describe_topics(self, names):
        if self.lag["describe"]:
            self.lag["describe"] -= 1
            return [{"topic": names[0], "error_code": 0, "partitions": []}]
        return [{"topic": names[0], "error_code": 0, "partitions": [{"partition": 0}, {"partition": 1}]}]

    async def create_partitions(self, wanted):
        self.partitions_to += [new.total_count for new in wanted.values()]

    async def describe_configs(self, resources):
        entries = []
        if self.lag["configs"]:
            self.lag["configs"] -= 1
        else:
            entries = [{"config_names": "retention.ms", "config_value": "3600000", "config_source": 1},
                       {"config_names": "max.message.bytes", "config_value": "2000000", "config_source": 1},
                       {"config_names": "cleanup.policy", "config_value": "delete", "config_source": 5}]
        answer = {"resources": [{"error_code": 0, "config_entries": entries}]}
        return [SimpleNamespace(to_object=lambda: answer)]

    async def alter_configs(self, resources):
        self.altered += [dict(resource.configs) for resource in resources]
        return [SimpleNamespace(resources=[(0, None)])]


@pytest.mark.parametrize("lag", [0, 3])
async def test_a_topic_not_yet_described_is_corrected_from_what_it_really_has(lag):
    settings = get_settings().events
    admin = LaggingAdmin(lag)
    topic = Topic(NAME_SUFFIX, 10, 7, "")
    report = await kafka_admin._ensure(admin, settings, topic)
    assert report.actions == ["partitions 2 -> 10", "retention.ms 3600000 -> 604800000"]
    assert admin.partitions_to == [10]
    assert admin.altered == [{"retention.ms": "604800000", "max.message.bytes": "2000000"}]


async def test_a_topic_never_described_is_an_error_not_a_guess():
    settings = get_settings().events
    with pytest.raises(RuntimeError, match="exists but did not describe it within"):
        await kafka_admin._described(LaggingAdmin(10**6), settings.topic_prefix + NAME_SUFFIX, timeout_s=0.3)
