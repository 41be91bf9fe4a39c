"""n8n's Gmail node v2 (n8n-nodes-base.gmail) converted to LinkFlow's ``gmail`` node, and a converted send run by
the engine against tests/fakes/gmail (Gmail cannot be reached from here, so it is mocked)."""

from __future__ import annotations

import json

from pydantic import SecretStr

from backend.credentials.types.oauth2 import OAuth2, OAuth2Fields
from backend.engine import EngineServices, ExecutionInfo, InMemoryStepStore, run
from backend.workflows.n8n.service import convert_file
from tests.fakes.gmail.server import TOKEN, FakeGmail

CREDENTIAL = {"gmailOAuth2": {"id": "7", "name": "Support mailbox"}}


def _convert(nodes: list) -> tuple[dict, object]:
    start = {"parameters": {}, "name": "Start", "type": "n8n-nodes-base.manualTrigger", "typeVersion": 1,
             "position": [0, 0]}
    connections = {"Start": {"main": [[{"node": nodes[0]["name"], "type": "main", "index": 0}]]}}
    result = convert_file(json.dumps({"name": "w", "nodes": [start, *nodes], "connections": connections}))
    return {n["name"]: n for n in result.workflow["nodes"]}, result


def _gmail(name: str, parameters: dict, version: float = 2.1) -> dict:
    return {"parameters": parameters, "name": name, "type": "n8n-nodes-base.gmail", "typeVersion": version,
            "position": [200, 0], "credentials": CREDENTIAL}


def test_the_v2_operations_convert():
    nodes, result = _convert([
        _gmail("Send", {"sendTo": "={{ $json.email }}", "subject": "Invoice", "message": "<p>Hi</p>",
                        "options": {"ccList": "ops@example.com", "attachmentsUi": {
                            "attachmentsBinary": [{"property": "invoice"}, {"property": "logo"}]},
                            "senderName": "Shop"}}),
        _gmail("Reply", {"operation": "reply", "messageId": "={{ $json.id }}", "emailType": "text",
                         "message": "Thanks"}),
        _gmail("Get", {"operation": "get", "messageId": "18c1", "simple": False,
                       "options": {"downloadAttachments": True}}),
        _gmail("List", {"operation": "getAll", "limit": 20,
                        "filters": {"q": "invoice", "readStatus": "unread", "labelIds": ["INBOX"]}}),
        _gmail("Read", {"operation": "markAsRead", "messageId": "18c1"}, version=2),
        _gmail("Labels", {"resource": "label", "returnAll": True}),
    ])
    assert nodes["Send"]["type"] == "gmail" and nodes["Send"]["parameters"] == {
        "resource": "message", "operation": "send", "send_to": "{{ $json.email }}", "subject": "Invoice",
        "html": "<p>Hi</p>", "cc": "ops@example.com", "attachments": "invoice, logo"}
    assert nodes["Reply"]["parameters"] == {"resource": "message", "operation": "reply",
                                            "message_id": "{{ $json.id }}", "text": "Thanks"}
    assert nodes["Get"]["parameters"] == {"resource": "message", "operation": "get", "message_id": "18c1",
                                          "format": "full", "download_attachments": True}
    assert nodes["List"]["parameters"] == {"resource": "message", "operation": "get_all", "format": "metadata",
                                           "return_all": False, "limit": 20, "q": "invoice is:unread",
                                           "label_ids": ["INBOX"]}
    assert nodes["Read"]["parameters"] == {"resource": "message", "operation": "mark_as_read", "message_id": "18c1"}
    assert nodes["Labels"]["parameters"] == {"resource": "label", "operation": "get_all", "return_all": True,
                                             "limit": 50}
    assert not any(n.get("disabled") for n in result.workflow["nodes"])
    assert {(c["slot"], c["type"], c["name"]) for c in result.credentials} == {("gmail", "oauth2", "Support mailbox")}
    assert any(p["node"] == "Send" and "senderName" in p["reason"] for p in result.report)


def test_other_operations_are_reported_by_name_and_the_node_disabled():
    nodes, result = _convert([_gmail("Labels", {"operation": "addLabels", "messageId": "1", "labelIds": ["X"]}),
                              _gmail("Draft", {"resource": "draft", "operation": "create"})])
    assert nodes["Labels"]["disabled"] is True and nodes["Draft"]["disabled"] is True
    reasons = [p["reason"] for p in result.report]
    assert any("Gmail message 'addLabels' is not converted" in r for r in reasons)
    assert any("Gmail draft 'create' is not converted" in r for r in reasons)


async def test_a_converted_send_runs_against_the_fake():
    nodes, result = _convert([_gmail("Send", {"sendTo": "={{ $json.email }}", "subject": "=Order {{ $json.order }}",
                                              "message": "Shipped", "emailType": "text"})])
    with FakeGmail() as gmail:
        for node in result.workflow["nodes"]:
            if node["type"] == "gmail":
                node["parameters"]["base_url"] = gmail.url
        login = OAuth2().inject(OAuth2Fields(client_id="c", authorize_url="https://accounts.google.com/o/oauth2/v2/auth",
                                             token_url="https://oauth2.googleapis.com/token",
                                             access_token=SecretStr(TOKEN)))

        async def credentials(credential_id: str, node_name: str) -> dict:
            return login

        for ref in result.credentials:
            nodes_by_id = {n["id"]: n for n in result.workflow["nodes"]}
            nodes_by_id[ref["node"]].setdefault("credentials", {})[ref["slot"]] = ref["name"]
        done = await run(result.workflow, execution=ExecutionInfo(id="e1", mode="manual"),
                         input_items=[{"json": {"email": "ada@example.com", "order": "A-17"}}],
                         store=InMemoryStepStore(),
                         services=EngineServices(credentials=credentials,
                                                 settings={"http_allow_list": ["127.0.0.1"]}))
        assert done.status == "succeeded", done.error
        [mime] = gmail.sent
        assert mime["To"] == "ada@example.com" and mime["Subject"] == "Order A-17"
        assert mime.get_content().strip() == "Shipped"
