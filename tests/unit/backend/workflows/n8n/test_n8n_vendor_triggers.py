"""n8n's GitHub, Stripe, Slack and Telegram triggers convert to LinkFlow's vendor webhook triggers, credentials
included; what cannot be converted exactly is reported by node, and the converted workflow passes validation."""

from __future__ import annotations

import json

from backend.workflows.n8n.service import convert_file
from backend.workflows.service import checked_definition


def _node(name: str, n8n_type: str, parameters: dict, credentials: dict, y: int) -> dict:
    return {"name": name, "type": f"n8n-nodes-base.{n8n_type}", "typeVersion": 1, "position": [0, y],
            "parameters": parameters, "credentials": credentials, "webhookId": "5f0c0b8e-aaaa-bbbb-cccc-000000000000"}


def _convert(nodes: list[dict]) -> tuple[dict, list, list]:
    noop = {"name": "Next", "type": "n8n-nodes-base.noOp", "typeVersion": 1, "position": [300, 0], "parameters": {}}
    connections = {n["name"]: {"main": [[{"node": "Next", "type": "main", "index": 0}]]} for n in nodes}
    result = convert_file(json.dumps({"name": "vendors", "nodes": [*nodes, noop], "connections": connections}))
    return {n["name"]: n for n in result.workflow["nodes"]}, result.credentials, result.report


def test_each_vendor_trigger_converts_with_its_credential():
    nodes, credentials, report = _convert([
        _node("On push", "githubTrigger", {"owner": {"__rl": True, "value": "octo-org", "mode": "name"},
                                           "repository": {"__rl": True, "value": "hello-world", "mode": "name"},
                                           "events": ["push", "pull_request"]},
              {"githubApi": {"id": "1", "name": "GH token"}}, 0),
        _node("On charge", "stripeTrigger", {"events": ["charge.succeeded", "invoice.paid"]},
              {"stripeApi": {"id": "2", "name": "Stripe live"}}, 200),
        _node("On mention", "slackTrigger", {"trigger": ["app_mention", "bot_message"], "watchWorkspace": True},
              {"slackApi": {"id": "3", "name": "Slack app"}}, 400),
        _node("On message", "telegramTrigger", {"updates": ["message", "callback_query"]},
              {"telegramApi": {"id": "4", "name": "Bot"}}, 600),
    ])
    assert (nodes["On push"]["type"], nodes["On push"]["parameters"]) == (
        "github_trigger", {"owner": "octo-org", "repository": "hello-world", "events": ["push", "pull_request"]})
    assert (nodes["On charge"]["type"], nodes["On charge"]["parameters"]) == (
        "stripe_trigger", {"events": ["charge.succeeded", "invoice.paid"]})
    assert (nodes["On mention"]["type"], nodes["On mention"]["parameters"]) == (
        "slack_trigger", {"events": ["app_mention", "message"]})
    assert (nodes["On message"]["type"], nodes["On message"]["parameters"]) == (
        "telegram_trigger", {"updates": ["message", "callback_query"]})
    assert all(not n.get("disabled") for n in nodes.values())
    assert {(c["node_name"], c["slot"], c["type"], c["name"]) for c in credentials} == {
        ("On push", "github", "github", "GH token"), ("On charge", "stripe", "stripe", "Stripe live"),
        ("On mention", "slack", "slack", "Slack app"), ("On message", "telegram", "telegram", "Bot")}
    assert [p for p in report if p["severity"] == "error"] == []


def test_converted_vendor_triggers_are_valid_definitions():
    nodes, _, _ = _convert([_node("On charge", "stripeTrigger", {"events": ["*"]}, {}, 0)])
    definition = {"nodes": list(nodes.values()), "connections": [{"from": nodes["On charge"]["id"],
                                                                    "to": nodes["Next"]["id"]}]}
    checked_definition(definition)  # raises with each problem if the converted parameters do not validate


def test_what_is_not_converted_is_reported_by_node():
    nodes, _, report = _convert([
        _node("By expression", "githubTrigger", {"owner": "={{ $env.OWNER }}", "repository": "r"}, {}, 0),
        _node("OAuth", "githubTrigger", {"authentication": "oAuth2", "owner": "o", "repository": "r"}, {}, 200),
        _node("One channel", "slackTrigger", {"trigger": ["message"], "watchWorkspace": False,
                                              "channelId": {"__rl": True, "value": "C123", "mode": "id"}}, {}, 400),
        _node("Odd event", "slackTrigger", {"trigger": ["workflow_step_execute"]}, {}, 600),
    ])
    assert nodes["By expression"]["disabled"] and nodes["OAuth"]["disabled"] and nodes["Odd event"]["disabled"]
    assert nodes["One channel"]["type"] == "slack_trigger" and not nodes["One channel"].get("disabled")
    reasons = {p["node"]: p["reason"] for p in report}
    assert "fixed value" in reasons["By expression"]
    assert "OAuth2" in reasons["OAuth"]
    assert "channel filter is not converted" in reasons["One channel"]
    assert "workflow_step_execute" in reasons["Odd event"]
