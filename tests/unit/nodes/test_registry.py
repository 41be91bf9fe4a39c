import json

import pytest

from nodes.builtin import NODE_TYPES
from nodes.sdk import NodeRegistry
from nodes.sdk.registry import default_registry

CORE_TYPES = {
    "manual_trigger", "webhook", "schedule", "set", "if", "switch", "merge", "filter", "sort", "limit",
    "aggregate", "split_out", "remove_duplicates", "loop", "code", "http_request", "wait",
    "execute_workflow", "respond_to_webhook", "stop_and_error", "noop", "datetime", "crypto",
    "extract_from_file", "convert_to_file", "compression", "read_write_file", "compare_datasets",
    "xml", "html", "markdown",
    "postgres", "mysql", "redis", "s3", "send_email", "kafka", "slack", "redis_trigger", "kafka_trigger",
    "openai", "ai_agent",
    "github", "gitlab", "jira", "notion", "airtable", "google_sheets",
    "telegram", "discord", "stripe", "twilio", "sendgrid", "rss_read", "hubspot",
    "ssh",
    "email_read_imap",
    "rabbitmq", "rabbitmq_trigger",
    "github_trigger", "stripe_trigger", "slack_trigger", "telegram_trigger",
    "gmail",
}


def test_every_core_type_is_registered_through_the_entry_point():
    assert {cls.type for cls in default_registry().all()} >= CORE_TYPES
    assert {cls.type for cls in NODE_TYPES} == CORE_TYPES


@pytest.mark.parametrize("node", NODE_TYPES, ids=lambda cls: cls.type)
def test_catalog_entry_is_json_with_described_parameters(node):
    entry = json.loads(json.dumps(node.describe()))
    assert entry["description"] and entry["icon"]
    assert (entry["group"] == "trigger") == (node.trigger is not None)
    for name, prop in entry["parameters_schema"].get("properties", {}).items():
        assert prop.get("description"), f"{node.type}.{name} has no description"


def test_registry_refuses_a_second_class_with_the_same_type():
    from nodes.builtin.noop import NoOp
    from nodes.sdk import Node

    class Impostor(Node):
        type = "noop"
        display_name = "Impostor"
        side_effects = False

        async def execute(self, ctx, items):
            return items

    with pytest.raises(ValueError, match="declared twice"):
        NodeRegistry([NoOp, Impostor])


def test_a_node_type_must_say_whether_it_has_side_effects():
    from nodes.sdk import Node

    with pytest.raises(TypeError, match=r"declare `side_effects = True` if running the node acts outside LinkFlow"):
        class Undeclared(Node):
            type = "undeclared"
            display_name = "Undeclared"

            async def execute(self, ctx, items):
                return items

    with pytest.raises(TypeError, match="side_effects"):
        class NotABool(Node):
            type = "not_a_bool"
            display_name = "Not a bool"
            side_effects = "yes"

            async def execute(self, ctx, items):
                return items


def test_the_built_in_nodes_with_side_effects_are_those_that_act_outside_linkflow():
    acting = {entry["type"] for entry in default_registry().catalog() if entry["side_effects"]}
    assert acting == {"http_request", "code", "execute_workflow", "wait", "read_write_file",  # it writes server files
                      "postgres", "mysql", "redis", "s3", "send_email", "kafka", "slack",
                      "openai", "ai_agent",
                      "github", "gitlab", "jira", "notion", "airtable", "google_sheets",
                      "telegram", "discord", "stripe", "twilio", "sendgrid", "rss_read", "hubspot",
                      "ssh",
                      "rabbitmq",
                      "gmail"}
