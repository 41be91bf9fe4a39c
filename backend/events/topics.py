"""The one list of event topics (Kafka topic names in scaled-out mode), as the ops guide sets them.

`linkflow kafka ensure-topics` (and the relay at start-up) creates or corrects the topics from this
table; deploy/kafka/topics.yaml declares the same for Strimzi (a test checks they agree). What each
topic carries is in backend/events/schemas/.
"""

from __future__ import annotations

from dataclasses import dataclass

DAY_MS = 24 * 3600 * 1000


@dataclass(frozen=True)
class Topic:
    name: str
    partitions: int
    retention_days: int
    purpose: str

    @property
    def retention_ms(self) -> int:
        return self.retention_days * DAY_MS


TOPIC_TABLE = (
    Topic("workflow.events", 10, 7, "workflow lifecycle: activated, deactivated, deleted"),
    Topic("workflow.triggers", 5, 2, "trigger firings: webhook, schedule, manual"),
    Topic("execution.events", 20, 3, "execution status changes"),
    Topic("execution.commands", 15, 1, "cancel, retry, resume requests for the worker holding an execution"),
    Topic("execution.results", 20, 5, "per-node results (status, timings, item counts; never the data)"),
    Topic("webhook.events", 10, 3, "webhook requests answered (method, path, status, latency, size)"),
    Topic("schedule.triggers", 5, 1, "cron schedules that fired"),
    Topic("notification.events", 10, 2, "notifications to deliver"),
    Topic("analytics.events", 15, 30, "usage facts for Insights"),
    Topic("audit.log", 5, 30, "who did what, for the audit trail"),
    Topic("dlq.events", 5, 14, "events a consumer could not handle, with the reason"),
)
TOPIC_SPECS = {topic.name: topic for topic in TOPIC_TABLE}
TOPICS = tuple(TOPIC_SPECS)
