"""The one list of event topics (Kafka topic names in scaled-out mode)."""

TOPICS = (
    "workflow.events",
    "workflow.triggers",
    "execution.events",
    "execution.commands",
    "execution.results",
    "webhook.events",
    "schedule.triggers",
    "notification.events",
    "analytics.events",
    "audit.log",
    "dlq.events",
)
