"""n8n workflows with Telegram, Discord, Twilio and SendGrid nodes (tests/fixtures/n8n/, n8n's export format),
converted and run by the engine against the local fakes of those vendors (tests/fakes/<vendor>/: the vendors
themselves cannot be reached from here). rss_to_hubspot.json runs in tests/integration/test_stripe_node.py, where
stripe-mock is."""

from __future__ import annotations

from pathlib import Path

import pytest

from backend.credentials.types.discord import DiscordWebhook, DiscordWebhookFields
from backend.credentials.types.sendgrid import SendGrid, SendGridFields
from backend.credentials.types.telegram import Telegram, TelegramFields
from backend.credentials.types.twilio import Twilio, TwilioFields
from backend.engine import EngineServices, ExecutionInfo, InMemoryStepStore, run
from backend.workflows.n8n.service import convert_file
from tests.fakes.discord.server import FakeDiscord
from tests.fakes.sendgrid.server import API_KEY, FakeSendGrid
from tests.fakes.telegram.server import TOKEN, FakeTelegram
from tests.fakes.twilio.server import ACCOUNT_SID, AUTH_TOKEN, FakeTwilio

FIXTURES = Path(__file__).parents[4] / "fixtures" / "n8n"
LOOPBACK = {"http_allow_list": ["127.0.0.1"]}


def _bound(name: str):
    result = convert_file((FIXTURES / f"{name}.json").read_bytes())
    nodes = {n["id"]: n for n in result.workflow["nodes"]}
    for ref in result.credentials:
        nodes[ref["node"]].setdefault("credentials", {})[ref["slot"]] = ref["name"]
    return result


async def test_an_order_notification_workflow_converts_and_runs():
    with FakeTelegram() as telegram, FakeDiscord() as discord, FakeTwilio() as twilio, FakeSendGrid() as sendgrid:
        logins = {
            "Shop bot": Telegram().inject(TelegramFields(bot_token=TOKEN, api_base_url=telegram.url)),
            "Orders channel": DiscordWebhook().inject(DiscordWebhookFields(webhook_url=discord.webhook_url())),
            "Shop SMS": Twilio().inject(TwilioFields(account_sid=ACCOUNT_SID, auth_token=AUTH_TOKEN,
                                                     api_base_url=twilio.url)),
            "Shop mail": SendGrid().inject(SendGridFields(api_key=API_KEY, api_base_url=sendgrid.url)),
        }

        async def credentials(credential_id: str, node_name: str) -> dict:
            return logins[credential_id]

        result = _bound("saas_order_notifications")
        assert [p for p in result.report if p.get("severity", "error") == "error"] == []
        done = await run(result.workflow, execution=ExecutionInfo(id="e1", mode="manual"),
                         input_items=[{"json": {"order": "A-17", "customer": "ada"}}], store=InMemoryStepStore(),
                         services=EngineServices(credentials=credentials, settings=LOOPBACK))
        assert done.status == "succeeded", done.error
        assert telegram.requests[0].json() == {"chat_id": "42", "text": "New order A-17 from ADA",
                                               "parse_mode": "HTML", "disable_notification": True}
        assert discord.posted == [{"content": "Order A-17 sent to Telegram", "username": "Shop",
                                   "embeds": [{"title": "Order A-17", "description": "Paid", "color": 0x2ECC71,
                                               "image": {"url": "https://example.com/logo.png"}}]}]
        assert twilio.sent == [{"To": "+14155550100", "From": "+15017122661", "Body": "Order A-17 is on its way"}]
        [mail] = sendgrid.mails
        assert mail["subject"] == "Order A-17" and mail["categories"] == ["orders", "shop"]
        assert mail["content"] == [{"type": "text/html", "value": "<p>SMS SM00000000000000000000000000000001 is "
                                                                   "queued</p>"}]
        assert done.output == [{"json": {"message_id": "msg-1", "status": 202}}]


@pytest.mark.parametrize(("node", "parameters", "reason"), [
    ("n8n-nodes-base.telegram", {"resource": "file", "operation": "get"}, "Telegram file 'get' is not converted"),
    ("n8n-nodes-base.discord", {"webhookUri": "https://x", "text": "hi"}, "Discord v1 keeps the webhook URL"),
    ("n8n-nodes-base.stripe", {"resource": "coupon", "operation": "create"}, "Stripe coupon 'create' is not converted"),
    ("n8n-nodes-base.twilio", {"resource": "call", "operation": "make"}, "SMS sending only"),
    ("n8n-nodes-base.sendGrid", {"resource": "contact", "operation": "upsert"}, "mail send only"),
    ("n8n-nodes-base.hubspot", {"resource": "deal", "operation": "create", "authentication": "appToken"},
     "HubSpot deal 'create' is not converted"),
])
def test_operations_without_a_counterpart_are_reported_by_name(node, parameters, reason):
    version = 1 if "discord" in node else 2
    workflow = {"name": "x", "nodes": [
        {"parameters": {}, "id": "s", "name": "Start", "type": "n8n-nodes-base.manualTrigger", "typeVersion": 1,
         "position": [0, 0]},
        {"parameters": parameters, "id": "n", "name": "Vendor step", "type": node, "typeVersion": version,
         "position": [200, 0]}],
        "connections": {"Start": {"main": [[{"node": "Vendor step", "type": "main", "index": 0}]]}}}
    result = convert_file(workflow)
    [problem] = [p for p in result.report if p.get("severity", "error") == "error"]
    assert problem["node"] == "Vendor step" and reason in problem["reason"]
    assert {n["name"]: n["type"] for n in result.workflow["nodes"]}["Vendor step"] == "noop"


def test_a_hubspot_upsert_maps_n8ns_contact_fields_to_hubspots_properties():
    from backend.workflows.n8n.convert import CONVERTERS
    from backend.workflows.n8n.nodes import NodeJob

    converted = CONVERTERS["n8n-nodes-base.hubspot"](NodeJob("n"), {
        "authentication": "appToken", "resource": "contact", "operation": "upsert", "email": "={{ $json.email }}",
        "additionalFields": {"firstName": "Ada", "lastName": "Lovelace", "phoneNumber": "+44",
                             "customPropertiesUi": {"customPropertiesValues": [{"property": "plan", "value": "pro"}]}}},
        2)
    assert converted.parameters == {"operation": "upsert", "properties": {
        "email": "{{ $json.email }}", "firstname": "Ada", "lastname": "Lovelace", "phone": "+44", "plan": "pro"}}
    with pytest.raises(Exception, match="the contact field 'gender' is not converted"):
        CONVERTERS["n8n-nodes-base.hubspot"](NodeJob("n"), {"authentication": "appToken", "resource": "contact",
                                                           "operation": "upsert", "email": "a@b.co",
                                                           "additionalFields": {"gender": "x"}}, 2)


def test_each_supported_operation_converts_to_valid_parameters():
    from backend.workflows.n8n.convert import CONVERTERS

    cases = {
        "n8n-nodes-base.telegram": [{"resource": "chat", "operation": "get", "chatId": "1"},
                                    {"operation": "sendDocument", "chatId": "1", "binaryData": True,
                                     "binaryPropertyName": "file", "additionalFields": {"caption": "c"}},
                                    {"operation": "editMessageText", "chatId": "1", "messageId": "5", "text": "t"}],
        "n8n-nodes-base.discord": [{"authentication": "botToken", "operation": "getAll", "returnAll": True,
                                    "channelId": {"__rl": True, "value": "123", "mode": "id"}}],
        "n8n-nodes-base.stripe": [{"resource": "customer", "operation": "create", "name": "Ada",
                                   "additionalFields": {"email": "a@b.co", "metadata": {"metadataProperties": [
                                       {"key": "plan", "value": "pro"}]}}},
                                  {"resource": "charge", "operation": "getAll", "limit": 5}],
        "n8n-nodes-base.hubspot": [{"authentication": "appToken", "resource": "contact", "operation": "get",
                                    "contactId": "501"},
                                   {"authentication": "appToken", "resource": "contact", "operation": "upsert",
                                    "email": "={{ $json.email }}", "additionalFields": {
                                        "firstName": "Ada", "companyName": "Engines", "customPropertiesUi": {
                                            "customPropertiesValues": [{"property": "plan|string", "value": "pro"}]}}}],
        "n8n-nodes-base.rssFeedRead": [{"url": "https://example.com/feed.xml"}],
    }
    from backend.workflows.n8n.nodes import NodeJob
    from nodes.builtin import NODE_TYPES

    by_type = {cls.type: cls for cls in NODE_TYPES}
    for n8n_type, variants in cases.items():
        for parameters in variants:
            job = NodeJob("n")
            converted = CONVERTERS[n8n_type](job, parameters, 2)
            assert job.problems == [], (n8n_type, job.problems)
            by_type[converted.type].Parameters.model_validate(converted.parameters)  # the node accepts them
