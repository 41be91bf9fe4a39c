"""n8n's Email Trigger (IMAP) (``n8n-nodes-base.emailReadImap``, v1 and v2) converts to ``email_read_imap``."""

from __future__ import annotations

import json

from backend.workflows.n8n.service import convert_file


def _n8n(node: dict) -> str:
    nxt = {"name": "Next", "type": "n8n-nodes-base.noOp", "typeVersion": 1, "position": [300, 0], "parameters": {}}
    return json.dumps({"name": "Mail", "nodes": [node, nxt], "connections": {
        node["name"]: {"main": [[{"node": "Next", "type": "main", "index": 0}]]}}})


def test_an_email_trigger_converts_with_its_options_and_credential():
    node = {"name": "Email Trigger (IMAP)", "type": "n8n-nodes-base.emailReadImap", "typeVersion": 2,
            "position": [0, 0], "credentials": {"imap": {"id": "4", "name": "Support inbox"}},
            "parameters": {"mailbox": "Support", "postProcessAction": "nothing", "format": "resolved",
                           "dataPropertyAttachmentsPrefixName": "file_",
                           "options": {"customEmailConfig": '["UNSEEN", ["SINCE", "May 20, 2018"]]',
                                       "allowUnauthorizedCerts": True}}}
    result = convert_file(_n8n(node))
    converted = {n["name"]: n for n in result.workflow["nodes"]}["Email Trigger (IMAP)"]
    assert (converted["type"], converted["parameters"]) == ("email_read_imap", {
        "mailbox": "Support", "post_process_action": "nothing", "format": "resolved", "download_attachments": False,
        "attachment_prefix": "file_", "custom_email_config": '["UNSEEN", ["SINCE", "May 20, 2018"]]'})
    assert not converted.get("disabled")
    assert ("Email Trigger (IMAP)", "imap", "imap", "Support inbox") in {
        (c["node_name"], c["slot"], c["type"], c["name"]) for c in result.credentials}
    assert any(p["parameter"] == "options.allowUnauthorizedCerts" and p["severity"] == "warning"
               for p in result.report)


def test_defaults_are_n8ns_and_what_cannot_convert_is_reported():
    plain = {"name": "Inbox", "type": "n8n-nodes-base.emailReadImap", "typeVersion": 1, "position": [0, 0],
             "parameters": {"downloadAttachments": True}}
    converted = {n["name"]: n for n in convert_file(_n8n(plain)).workflow["nodes"]}["Inbox"]
    assert converted["parameters"] == {"mailbox": "INBOX", "post_process_action": "read", "format": "simple",
                                       "download_attachments": True, "attachment_prefix": "attachment_"}
    by_expression = {**plain, "parameters": {"mailbox": "={{ $env.BOX }}"}}
    result = convert_file(_n8n(by_expression))
    assert {n["name"]: n for n in result.workflow["nodes"]}["Inbox"]["disabled"]
    assert any(p["node"] == "Inbox" and "fixed value" in p["reason"] for p in result.report)
