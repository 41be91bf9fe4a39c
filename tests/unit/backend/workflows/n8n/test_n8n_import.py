"""n8n workflow files (tests/fixtures/n8n/, written in n8n's export format) converted, then run with `linkflow run`.

Each expected output is what n8n gives for the same input (worked out from n8n's node documentation).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import func, select

from backend.cli import main
from backend.db.session import session_scope
from backend.users.models import Role
from backend.workflows.models import Workflow

FIXTURES = Path(__file__).parents[4] / "fixtures" / "n8n"
URL = "/api/v1/workflows/import/n8n"

class UNORDERED(list):  # noqa: N801 - reads as a marker in CASES
    """Expected items whose order n8n and LinkFlow may give differently."""


def _same(got: list, want: list) -> bool:
    if isinstance(want, UNORDERED):
        return sorted(map(json.dumps, got)) == sorted(map(json.dumps, want))
    return got == want


CASES = {
    "order_routing": (
        [{"id": 1, "status": "paid", "total": 650, "customer": "ada"}, {"id": 2, "status": "open", "total": 50,
                                                                        "customer": "bob"}],
        {"Ship it": [{"id": 1, "status": "paid", "total": 650, "customer": "ada", "action": "ship",
                      "label": "Order 1 for ADA", "priority": "high"}],
         "Hold": [{"id": 2, "reason": "open order of 50"}]}),
    "lead_scoring": (
        [{"email": "a@acme.com", "employees": 500, "company": " Acme "},
         {"email": "b@beta.io", "employees": 200, "company": "Beta"},
         {"email": "c@small.com", "employees": 5, "company": "Small"},
         {"email": "d@delta.com", "employees": 150, "company": "Delta "}],
        {"Top 2": [{"email": "a@acme.com", "employees": 500, "company": "Acme", "score": 55, "domain": "acme.com"},
                   {"email": "d@delta.com", "employees": 150, "company": "Delta", "score": 55,
                    "domain": "delta.com"}]}),
    "ticket_switch": (
        [{"priority": "urgent", "subject": "Down"}, {"priority": "low", "subject": "A BUG in login"},
         {"priority": "low", "subject": "Question"}],
        {"Page on-call": [{"priority": "urgent", "subject": "Down", "queue": "pager"}],
         "File bug": [{"priority": "low", "subject": "A BUG in login", "queue": "eng-14"}],
         "Inbox": [{"priority": "low", "subject": "Question", "queue": "inbox"}]}),
    "merge_customers": (
        [{"customer_id": 1, "name": "Ada", "amount": 10}, {"customer_id": 2, "name": "Bob", "amount": 2.5}],
        {"Aggregate": [{"names": ["Ada", "Bob"], "total": [12, 3]}]}),
    "node_references": (
        [{"net": 100, "tax": 19, "invoice": "INV-1"}, {"net": 10, "tax": 1, "invoice": "INV-2", "currency": "USD"},
         {"net": 200, "tax": 0, "invoice": "INV-3"}],
        {"One per size": [
            {"line": "INV-1: 119 EUR", "double_first": 238, "count": 3, "tags": "a+b", "big": True},
            {"line": "INV-2: 11 USD", "double_first": 238, "count": 3, "tags": "a+b", "big": False}]}),
    "webhook_respond": (
        [{"headers": {}, "query": {}, "body": {"email": " Ada@Example.com ", "name": "Ada Lovelace"}}],
        {"Clean": [{"email": "ada@example.com", "first_name": "Ada"}]}),
    "loop_batches": (
        [{"name": "Ada"}, {"name": "Bob"}, {"name": "Cy"}],
        {"All contacts": [{"contacts": [{"name": "Ada", "handle": "@ada"}, {"name": "Bob", "handle": "@bob"},
                                        {"name": "Cy", "handle": "@cy"}]}]}),
    "split_and_dedupe": (
        [{"order": 1, "lines": [{"sku": "A", "qty": 1}, {"sku": "B", "qty": 5}]},
         {"order": 2, "lines": [{"sku": "A", "qty": 3}, {"sku": "C", "qty": 2}]}],
        {"Two smallest": [{"order": 2, "lines": {"sku": "C", "qty": 2}}, {"order": 1, "lines": {"sku": "A", "qty": 1}}]}),
    "legacy_v1_nodes": (
        [{"amount": 150, "currency": "EUR", "ref": "B2C-1"}, {"amount": 150, "currency": "USD", "ref": "B2B-2"},
         {"amount": 5, "currency": "EUR", "ref": "B2C-3"}],
        {"Gold": [{"tier": "gold", "ref": "B2C-1", "review": True}],
         "Done": [{"amount": 150, "currency": "USD", "ref": "B2B-2"}]}),
    "merge_positions": (
        [{"name": "Ada", "points": 3}, {"name": "Bob", "points": 4}],
        {"Append": [{"name": "Ada", "score": 6}, {"name": "Bob", "score": 8}, {"name": "extra"}, {"name": "extra"}]}),
    "error_branch": (
        [{"id": 1, "email": "a@x.io"}, {"id": 2, "email": ""}],
        {"Accept": [{"id": 1, "email": "a@x.io", "ok": True}], "failed": "Record 2 has no email"}),
    "switch_all_matches": (
        [{"total": 150, "country": "DE"}, {"total": 50, "country": "DE"}, {"total": 500, "country": "FR"},
         {"total": 1, "country": "US"}],
        {"Big": [{"total": 150, "country": "DE", "tag": "big"}, {"total": 500, "country": "FR", "tag": "big"}],
         "German": [{"total": 150, "country": "DE", "tag": "de"}, {"total": 50, "country": "DE", "tag": "de"}]}),
    "filter_or_ignore_case": (
        [{"subject": "Your INVOICE", "from": "a@x.io"}, {"subject": "URGENT: call", "from": "b@x.io"},
         {"subject": "hi", "from": "c@VIP.example.com"}, {"subject": "hi", "from": "d@vip.example"},
         {"subject": "newsletter", "from": "e@x.io"}],
        {"Interesting": [{"subject": "Your INVOICE", "from": "a@x.io"}, {"subject": "URGENT: call", "from": "b@x.io"},
                         {"subject": "hi", "from": "d@vip.example"}]}),
    "expressions_showcase": (
        [{"first": " ada ", "last": " lovelace ", "email": "Ada@Example.COM", "phone": "+49 30 123",
          "tags": ["vip", "math"], "spend": 250, "zip": "10115", "meta": '{"a":1,"b":2}'}],
        {"Clean": [{"full_name": "ada LOVELACE", "initials": "al", "domain": "example.com", "phone": "030123",
                    "tag_list": "vip, math", "is_vip": True, "tag_count": 2, "tier": "silver", "nickname": "ada",
                    "greeting": "Dear ada, you have 2 tags", "best": 500, "zip": 10115, "meta_keys": "a|b",
                    "summary": "ada (Ada@Example.COM)"}]}),
    "disabled_and_notes": ([{"n": 1}], {"Mark": [{"n": 1, "seen": True}]}),
    "wait_short": ([{"n": 1}], {"After": [{"n": 1, "resumed": True}]}),
    "aggregate_fields": (
        [{"customers": [{"email": "a@x.io", "total": 5}, {"email": "b@x.io"}, {"email": "c@x.io", "total": 7}]}],
        {"Collect": [{"emails": ["a@x.io", "b@x.io", "c@x.io"], "totals": [5, 7]}]}),
    "webhook_text_response": (
        [{"headers": {}, "query": {}, "body": {"delivery_id": "D-9"}}],
        {"Ack": [{"headers": {}, "query": {}, "body": {"delivery_id": "D-9"}}]}),
    "schedule_report": ([], {"Report": [{"report": "daily"}]}),
    "dedupe_all_fields": (
        [{"at": 3, "e": "b"}, {"at": 1, "e": "a"}, {"at": 3, "e": "b"}, {"at": 2, "e": "c"}],
        {"As one list": [{"data": [{"at": 1, "e": "a"}, {"at": 2, "e": "c"}, {"at": 3, "e": "b"}]}]}),
    "nested_if_switch": (
        [{"plan": "pro", "channel": "phone"}, {"plan": "free", "channel": "phone"}, {"plan": "team", "channel": "chat"},
         {"plan": "pro", "channel": "email"}],
        {"Call back": [{"plan": "pro", "channel": "phone", "queue": "callback-pro"}],
         "Chat queue": [{"plan": "team", "channel": "chat", "queue": "chat"}],
         "Email queue": [{"plan": "pro", "channel": "email", "queue": "email"}],
         "Community": [{"plan": "free", "channel": "phone", "queue": "forum"}]}),
    "merge_outer_join": (  # n8n lists the matches first, then the unmatched: compared without order
        [{"uid": 1, "name": "Ada", "pid": 2, "plan": "pro"}, {"uid": 2, "name": "Bob", "pid": 3, "plan": "team"}],
        {"Join": UNORDERED([{"id": 2, "name": "Bob", "plan": "pro"}, {"id": 1, "name": "Ada"}, {"id": 3, "plan": "team"}])}),
    "merge_enrich_left": (
        [{"uid": 1, "name": "Ada", "pid": 2, "plan": "pro"}, {"uid": 2, "name": "Bob", "pid": 3, "plan": "team"}],
        {"Join": [{"id": 1, "name": "Ada"}, {"id": 2, "name": "Bob", "plan": "pro"}]}),
    "text_templates": (
        [{"level": "warn", "service": "billing", "count": 3, "message": "Timeout talking to bank"}],
        {"Texts": [{"subject": "[WARN] billing", "body": "Service billing reported 3 errors", "short": "Timeout ta…",
                    "json_copy": '{\n  "service": "billing",\n  "count": 3\n}'}]}),
    "partly_unsupported": (
        [{"amount": 5, "people": [{"name": "x"}]}],
        {"Label": [{"amount": 5, "people": [{"name": "x"}], "deal": "5 EUR"}]}),
}


def _linkflow(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "backend.cli", *args], capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("name", sorted(CASES))
def test_converted_workflow_runs_with_linkflow_run_and_gives_n8ns_output(name, tmp_path, capsys):
    out = tmp_path / f"{name}.json"
    assert main(["import", "n8n", str(FIXTURES / f"{name}.json"), "--output", str(out)]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["output"] == str(out)
    items, expected = CASES[name]
    ran = _linkflow("run", str(out), "--input", json.dumps(items))
    assert ran.stdout.strip(), f"linkflow run printed nothing (exit {ran.returncode}): {ran.stderr}"
    result = json.loads(ran.stdout)
    expected = dict(expected)
    failure = expected.pop("failed", None)  # n8n stops the execution with this message too
    assert result["status"] == ("failed" if failure else "succeeded"), ran.stdout + ran.stderr
    assert failure is None or result["error"]["message"] == failure
    for node, want in expected.items():
        assert _same([item["json"] for item in result["nodes"][node]["items"]], want), node


def test_an_http_request_workflow_gets_the_answer_as_items_like_n8n(tmp_path, capsys):
    """The API it calls is a local server answering a JSON list (n8n makes one item per element)."""
    import os
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    seen = []

    class Orders(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - http.server's hook name
            seen.append((self.path, self.headers.get("Accept")))
            payload = json.dumps([{"id": 1, "total": 50}, {"id": 2, "total": 250}, {"id": 3, "total": 120}]).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Orders)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    out = tmp_path / "http.json"
    try:
        assert main(["import", "n8n", str(FIXTURES / "http_open_orders.json"), "--output", str(out)]) == 0
        assert json.loads(capsys.readouterr().out)["report"] == []
        api = f"http://127.0.0.1:{server.server_address[1]}"
        ran = subprocess.run([sys.executable, "-m", "backend.cli", "run", str(out), "--input",
                              json.dumps({"api": api, "region": "north"})], capture_output=True, text=True,
                             timeout=120, env={**os.environ, "LINKFLOW_HTTP_ALLOW_LIST": "127.0.0.1"})
    finally:
        server.shutdown()
    result = json.loads(ran.stdout)
    assert result["status"] == "succeeded", ran.stdout + ran.stderr
    assert seen == [("/orders?status=open&region=north", "application/json")]
    assert [i["json"] for i in result["nodes"]["Alert text"]["items"]] == [
        {"alert": "Order 2 (250 EUR) from north"}, {"alert": "Order 3 (120 EUR) from north"}]


def test_a_clean_conversion_keeps_positions_settings_pins_notes_and_tags(tmp_path):
    from backend.workflows.n8n.service import convert_file

    result = convert_file((FIXTURES / "webhook_respond.json").read_bytes())
    workflow = result.workflow
    assert [n["type"] for n in workflow["nodes"]] == ["webhook", "set", "respond_to_webhook"]
    assert workflow["nodes"][0]["parameters"] == {"path": "new-lead", "method": "POST", "respond": "respond_node"}
    assert workflow["nodes"][2]["parameters"]["status"] == 201
    assert workflow["nodes"][1]["position"] == [220, 0]
    assert workflow["settings"] == {"timeout_s": 120.0, "save_data": "all"}
    assert workflow["pin_data"]["Webhook"][0]["json"]["body"]["name"] == "Ada Lovelace"
    assert workflow["sticky_notes"][0]["text"].startswith("## Lead capture")
    assert workflow["connections"] == [{"from": "w-hook", "output": "main", "to": "w-set", "input": "main"},
                                       {"from": "w-set", "output": "main", "to": "w-resp", "input": "main"}]
    assert result.report == []
    routing = convert_file((FIXTURES / "order_routing.json").read_bytes()).workflow
    assert routing["settings"] == {"timezone": "Europe/Berlin", "save_data": "errors"}
    assert routing["tags"] == ["orders"]
    assert {(c["output"], c["to"]) for c in routing["connections"] if c["from"].endswith("a02")} == {
        ("true", "8b0c7f7e-1d2a-4a51-9c1e-0f3a5f0c1a03"), ("false", "8b0c7f7e-1d2a-4a51-9c1e-0f3a5f0c1a04")}


def test_triggers_responses_and_notes_convert():
    from backend.workflows.n8n.service import convert_file

    def nodes(name):
        return {n["name"]: n for n in convert_file((FIXTURES / f"{name}.json").read_bytes()).workflow["nodes"]}

    ack = nodes("webhook_text_response")["Ack"]["parameters"]
    assert ack == {"status": 202, "headers": {"X-Ack-Id": "{{ $json.body.delivery_id }}"}, "body_type": "text",
                   "body": "ACK {{ $json.body.delivery_id }}"}
    report = convert_file((FIXTURES / "schedule_report.json").read_bytes()).workflow
    assert report["nodes"][0]["parameters"] == {"cron": "30 9 * * *"}
    assert report["settings"] == {"timezone": "Europe/Berlin", "save_data": "errors"}
    disabled = convert_file((FIXTURES / "disabled_and_notes.json").read_bytes()).workflow
    old = next(n for n in disabled["nodes"] if n["name"] == "Old enrichment")
    assert old["disabled"] is True and old["notes"] == "Turned off in March"
    assert disabled["sticky_notes"][0]["text"].startswith("## Why")


def test_node_settings_convert():
    from backend.workflows.n8n.service import convert_file

    nodes = {n["name"]: n for n in convert_file((FIXTURES / "error_branch.json").read_bytes()).workflow["nodes"]}
    assert nodes["Accept"]["settings"]["retry"] == {"max_tries": 2, "wait_ms": 10}
    doc = _n8n([START, {**START, "name": "Soft", "type": "n8n-nodes-base.noOp", "onError": "continueErrorOutput",
                        "alwaysOutputData": True},
                {**START, "name": "Errors", "type": "n8n-nodes-base.noOp"}],
               {"Start": {"main": [[{"node": "Soft", "index": 0}]]},
                "Soft": {"main": [[], [{"node": "Errors", "index": 0}]]}})
    result = convert_file(json.dumps(doc)).workflow
    soft = next(n for n in result["nodes"] if n["name"] == "Soft")
    assert soft["settings"] == {"on_error": "error_output", "always_output": True}
    assert {"from": soft["id"], "output": "error", "to": "n3", "input": "main"} in result["connections"]


def test_what_cannot_be_converted_is_reported_by_name_and_disabled():
    from backend.workflows.n8n.service import convert_file

    result = convert_file((FIXTURES / "partly_unsupported.json").read_bytes())
    by_name = {n["name"]: n for n in result.workflow["nodes"]}
    assert by_name["Mark seen"]["disabled"] and by_name["Mark seen"]["type"] == "noop"
    assert "n8n-nodes-base.code" in by_name["Mark seen"]["notes"]
    assert by_name["Enrich"]["disabled"] and by_name["Enrich"]["type"] == "set"
    assert by_name["Append to sheet"]["disabled"] and not by_name["Label"].get("disabled")
    errors = [(p["node"], p["parameter"]) for p in result.report if p["severity"] == "error"]
    assert errors == [("Mark seen", None), ("Enrich", "assignments[1].value"), ("Append to sheet", None)]
    assert any("arrow functions" in p["reason"] and "map(p => p.name)" in p["expression"] for p in result.report)


def _n8n(nodes: list, connections: dict | None = None, **extra) -> dict:
    return {"name": "x", "nodes": nodes, "connections": connections or {}, **extra}


START = {"name": "Start", "type": "n8n-nodes-base.manualTrigger", "typeVersion": 1, "position": [0, 0],
         "parameters": {}}


def _deep(levels: int) -> dict:
    value: dict = {}
    for _ in range(levels):
        value = {"a": value}
    return value


@pytest.mark.parametrize(("document", "message"), [
    ("[1, 2]", "JSON object"),
    ("{not json", "not valid JSON"),
    (json.dumps({"nodes": {}, "connections": []}), "'nodes' must be a list"),
    (json.dumps(_n8n([START, {**START}])), "two nodes are named"),
    (json.dumps(_n8n([{"type": "x"}])), "needs a 'name'"),
    (json.dumps(_n8n([START], pinData={"Start": [{"json": {"__proto__": {"admin": True}}}]})), "'__proto__'"),
    (json.dumps(_n8n([{**START, "parameters": {"constructor": {"prototype": 1}}}])), "'constructor'"),
    (json.dumps(_n8n([START], meta=_deep(100))), "nested 10"),
    (json.dumps(_n8n([START] + [{**START, "name": f"N{i}"} for i in range(1000)])), "at most 1,000"),
    (json.dumps(_n8n([START], blob="x" * 5_000_001)), "at most 5,000,000"),
    ((FIXTURES / "escape_attempt.json").read_text(), "'constructor' reaches outside"),
])
def test_hostile_or_foreign_files_are_refused_and_nothing_is_created(document, message, tmp_path, capsys):
    source, out = tmp_path / "in.json", tmp_path / "out.json"
    source.write_text(document)
    assert main(["import", "n8n", str(source), "--output", str(out)]) == 2
    assert message in capsys.readouterr().err
    assert not out.exists()


def test_unknown_node_types_and_broken_links_import_with_a_report(tmp_path):
    from backend.workflows.n8n.service import convert_file

    doc = _n8n([START, {"name": "Mystery", "type": "acme.doesNotExist", "typeVersion": 9, "position": [1, 2],
                        "parameters": {"x": 1}},
                {"name": "Filter", "type": "n8n-nodes-base.filter", "typeVersion": 2, "position": [3, 4],
                 "parameters": {"conditions": {"conditions": [{"leftValue": "={{ $json.a }}", "rightValue": "",
                                                               "operator": {"type": "string",
                                                                            "operation": "notRegex"}}]}}}],
               {"Start": {"main": [[{"node": "Mystery", "index": 0}, {"node": "Ghost", "index": 0}]]},
                "Mystery": {"main": [[{"node": "Filter", "index": 0}]]}})
    result = convert_file(json.dumps(doc))
    names = {(p["node"], p["severity"]) for p in result.report}
    assert ("Mystery", "error") in names and ("Filter", "error") in names and ("Start", "warning") in names
    assert all(n["disabled"] for n in result.workflow["nodes"][1:])
    assert len(result.workflow["connections"]) == 2


def test_api_import_creates_in_the_callers_team_and_binds_credentials_by_name(api, api_user):
    from backend.credentials.service import create_credential

    owner, other = api_user("owner@x.io"), api_user("other@x.io")
    with session_scope() as session:
        mine = create_credential(session, team_id=owner.team_id, name="Orders API", type="api_key_header",
                                 values={"header_name": "X-Key", "api_key": "s3cret"}).id
        create_credential(session, team_id=other.team_id, name="Other API", type="api_key_header",
                          values={"header_name": "X-Key", "api_key": "other"})
    http = {"name": "Fetch", "type": "n8n-nodes-base.httpRequest", "typeVersion": 4.2, "position": [200, 0],
            "parameters": {"url": "https://api.example.com/orders", "authentication": "genericCredentialType",
                           "genericAuthType": "httpHeaderAuth", "options": {}}}
    doc = _n8n([START, {**http, "credentials": {"httpHeaderAuth": {"id": "3", "name": "Orders API"}}},
                {**http, "name": "Fetch other", "credentials": {"httpHeaderAuth": {"id": "4", "name": "Other API"}}}],
               {"Start": {"main": [[{"node": "Fetch", "index": 0}, {"node": "Fetch other", "index": 0}]]}})
    answer = api.post(URL, json=doc, headers=owner.headers)
    assert answer.status_code == 201, answer.text
    body = answer.json()
    nodes = {n["name"]: n for n in body["workflow"]["definition"]["nodes"]}
    assert nodes["Fetch"]["credentials"] == {"auth": mine}
    assert nodes["Fetch other"].get("credentials", {}) == {}  # another team's credential is never bound
    assert any(p["node"] == "Fetch other" and "no api_key_header credential named 'Other API'" in p["reason"]
               for p in body["report"])
    assert api.get(f"/api/v1/workflows/{body['workflow']['id']}", headers=other.headers).status_code == 404
    viewer = api_user("viewer@x.io", team_id=owner.team_id, role=Role.VIEWER)
    assert api.post(URL, json=doc, headers=viewer.headers).status_code == 403


@pytest.mark.parametrize("doc", [
    {"nodes": [START], "connections": {}, "pinData": {"Start": [{"json": {"__proto__": 1}}]}},
    {"nodes": [START, {**START, "name": "Grab", "type": "n8n-nodes-base.set", "typeVersion": 3.4,
                       "parameters": {"assignments": {"assignments": [
                           {"name": "x", "value": "={{ process.env.HOME }}", "type": "string"}]}}}],
     "connections": {}},
    {"nodes": "not a list", "connections": {}},
    {"name": "deep", "nodes": [START], "connections": {}, "meta": _deep(150)},
])
def test_api_refuses_hostile_files_with_422_and_creates_nothing(api, api_user, doc):
    owner = api_user("owner@x.io")
    answer = api.post(URL, json=doc, headers=owner.headers)
    assert answer.status_code == 422, answer.text
    assert answer.json()["error"]["message"]
    with session_scope() as session:
        assert session.scalar(select(func.count()).select_from(Workflow)) == 0


def test_cli_creates_the_workflow_in_the_named_team(capsys):
    from backend.db import migrate
    from backend.settings import get_settings
    from backend.users.service import create_user

    migrate.upgrade(get_settings().database_url)
    with session_scope() as session:
        create_user(session, email="first@x.io", password="a long enough password")
        _, team = create_user(session, email="second@x.io", password="a long enough password")
        team_id = team.id
    assert main(["import", "n8n", str(FIXTURES / "order_routing.json"), "--team", team_id]) == 0
    created = json.loads(capsys.readouterr().out)
    assert created["team_id"] == team_id and created["name"] == "Route paid orders"
    with session_scope() as session:
        row = session.get(Workflow, created["workflow_id"])
        assert row.team_id == team_id and row.tags == ["orders"]
    assert main(["import", "n8n", str(FIXTURES / "order_routing.json"), "--team", "no-such-team"]) == 2
    assert "no team 'no-such-team'" in capsys.readouterr().err


def test_integration_nodes_convert_with_their_credentials_by_name():
    from backend.workflows.n8n.service import convert_file

    result = convert_file((FIXTURES / "orders_pipeline.json").read_bytes())
    nodes = {n["name"]: n for n in result.workflow["nodes"]}
    assert [n["type"] for n in result.workflow["nodes"]] == [
        "webhook", "set", "postgres", "postgres", "kafka", "s3", "send_email"]
    assert nodes["Save order"]["parameters"] == {"operation": "upsert", "schema_name": "public", "table": "orders",
                                                 "match_columns": ["id"]}
    assert nodes["Open orders"]["parameters"]["query_parameters"] == ["{{ $json.customer }}", "open"]
    assert nodes["Archive"]["parameters"]["text"] == '{{ json($node["Order received"].items[$item_index].body, 2) }}'
    assert nodes["Confirm"]["parameters"]["bcc"] == "orders@example.com"
    assert {(c["node_name"], c["slot"], c["type"], c["name"]) for c in result.credentials} == {
        ("Save order", "postgres", "postgres", "Shop DB"), ("Open orders", "postgres", "postgres", "Shop DB"),
        ("Publish", "kafka", "kafka", "Events"), ("Archive", "aws", "aws_s3", "Archive bucket"),
        ("Confirm", "smtp", "smtp", "Mailer")}
    assert not any(n.get("disabled") for n in result.workflow["nodes"])
    assert {p["severity"] for p in result.report} == {"warning"}  # only: bind the credentials


def test_mysql_nodes_convert():
    from backend.workflows.n8n.service import convert_file

    node = {"name": "Lookup", "type": "n8n-nodes-base.mySql", "typeVersion": 2.4, "position": [200, 0],
            "parameters": {"operation": "executeQuery", "query": "SELECT * FROM users WHERE email = $1",
                           "options": {"queryReplacement": "={{ $json.email }}"}},
            "credentials": {"mySql": {"id": "2", "name": "CRM"}}}
    upsert = {**node, "name": "Save", "parameters": {"operation": "upsert", "table": {"__rl": True, "value": "users"},
                                                      "columns": {"mappingMode": "autoMapInputData"}}}
    result = convert_file(json.dumps(_n8n([START, node, upsert])))
    nodes = {n["name"]: n for n in result.workflow["nodes"]}
    assert nodes["Lookup"]["type"] == "mysql" and nodes["Lookup"]["parameters"]["query_parameters"] == [
        "{{ $json.email }}"]
    assert nodes["Save"]["parameters"] == {"operation": "upsert", "table": "users"}
    assert ("Lookup", "mysql", "mysql", "CRM") in {(c["node_name"], c["slot"], c["type"], c["name"])
                                                   for c in result.credentials}


@pytest.mark.parametrize("connections", [
    {"Start": {"main": 5}}, {"Start": {"main": [[{"node": {"x": 1}}]]}}, {"Start": {"main": [{"node": "x"}]}},
    {"Start": "main"}, {"Ghost": {"main": [[{"node": "Start"}]]}},
])
def test_odd_connection_shapes_are_dropped_with_a_report(connections):
    from backend.workflows.n8n.service import convert_file

    result = convert_file(json.dumps(_n8n([START], connections, tags=7, settings=[1])))
    assert result.workflow["connections"] == [] and result.workflow["tags"] == []


def test_redis_and_kafka_triggers_convert_to_listener_triggers():
    from backend.workflows.n8n.service import convert_file

    redis_trigger = {"name": "On event", "type": "n8n-nodes-base.redisTrigger", "typeVersion": 1, "position": [0, 0],
                     "parameters": {"channels": "orders,events.*", "options": {"jsonParseBody": True}},
                     "credentials": {"redis": {"id": "1", "name": "Cache"}}}
    kafka_trigger = {"name": "On order", "type": "n8n-nodes-base.kafkaTrigger", "typeVersion": 1.1,
                     "position": [0, 200],
                     "parameters": {"topic": "orders", "groupId": "shop", "options": {
                         "fromBeginning": True, "jsonParseMessage": True, "onlyMessage": True,
                         "parallelProcessing": False}},
                     "credentials": {"kafka": {"id": "2", "name": "Events"}}}
    by_expression = {**kafka_trigger, "name": "Dynamic", "parameters": {"topic": "={{ $env.TOPIC }}", "groupId": "g"}}
    noop = {"name": "Next", "type": "n8n-nodes-base.noOp", "typeVersion": 1, "position": [300, 0], "parameters": {}}
    result = convert_file(json.dumps(_n8n([redis_trigger, kafka_trigger, by_expression, noop], {
        "On event": {"main": [[{"node": "Next", "type": "main", "index": 0}]]},
        "On order": {"main": [[{"node": "Next", "type": "main", "index": 0}]]}})))
    nodes = {n["name"]: n for n in result.workflow["nodes"]}
    assert (nodes["On event"]["type"], nodes["On event"]["parameters"]) == (
        "redis_trigger", {"channels": "orders,events.*", "json_parse_body": True, "only_message": False})
    assert (nodes["On order"]["type"], nodes["On order"]["parameters"]) == (
        "kafka_trigger", {"topic": "orders", "group_id": "shop", "from_beginning": True, "json_parse_message": True,
                          "only_message": True})
    assert not nodes["On event"].get("disabled") and not nodes["On order"].get("disabled")
    assert nodes["Dynamic"]["disabled"]
    assert {(c["node_name"], c["slot"], c["type"], c["name"]) for c in result.credentials} >= {
        ("On event", "redis", "redis", "Cache"), ("On order", "kafka", "kafka", "Events")}
    report = {(p["node"], p["parameter"], p["severity"]) for p in result.report}
    assert ("On order", "options.parallelProcessing", "warning") in report
    assert any(p["node"] == "Dynamic" and "fixed value" in p["reason"] and p["severity"] == "error"
               for p in result.report)


def test_rabbitmq_node_and_trigger_convert():
    from backend.workflows.n8n.service import convert_file

    trigger = {"name": "On order", "type": "n8n-nodes-base.rabbitmqTrigger", "typeVersion": 1, "position": [0, 0],
               "parameters": {"queue": "orders", "options": {
                   "jsonParseBody": True, "onlyContent": True, "parallelMessages": 5, "acknowledge": "executionFinishes",
                   "binding": {"bindings": [{"exchange": "shop", "routingKey": "orders.*"}]}}},
               "credentials": {"rabbitmq": {"id": "3", "name": "Broker"}}}
    to_queue = {"name": "To queue", "type": "n8n-nodes-base.rabbitmq", "typeVersion": 1.1, "position": [200, 0],
                "parameters": {"queue": "done", "options": {"headers": {"header": [
                    {"key": "source", "value": "={{ $json.id }}"}]}}},
                "credentials": {"rabbitmq": {"id": "3", "name": "Broker"}}}
    to_exchange = {"name": "To exchange", "type": "n8n-nodes-base.rabbitmq", "typeVersion": 1.1, "position": [400, 0],
                   "parameters": {"mode": "exchange", "exchange": "events", "exchangeType": "topic",
                                  "routingKey": "orders.done", "sendInputData": False, "message": "={{ $json.id }}",
                                  "options": {"durable": False}}}
    acks_later = {**to_queue, "name": "Ack", "parameters": {"operation": "deleteMessage"}}
    binary = {**trigger, "name": "Binary", "parameters": {"queue": "q", "options": {"contentIsBinary": True}}}
    result = convert_file(json.dumps(_n8n([trigger, to_queue, to_exchange, acks_later, binary], {
        "On order": {"main": [[{"node": "To queue", "type": "main", "index": 0}]]},
        "To queue": {"main": [[{"node": "To exchange", "type": "main", "index": 0}]]}})))
    nodes = {n["name"]: n for n in result.workflow["nodes"]}
    assert (nodes["On order"]["type"], nodes["On order"]["parameters"]) == ("rabbitmq_trigger", {
        "queue": "orders", "assert_queue": True, "durable": True, "auto_delete": False, "json_parse_body": True,
        "only_content": True, "binding_exchange": "shop", "binding_routing_key": "orders.*", "prefetch": 5})
    assert (nodes["To queue"]["type"], nodes["To queue"]["parameters"]) == ("rabbitmq", {
        "mode": "queue", "queue": "done", "durable": True, "auto_delete": False, "send_input_data": True,
        "headers": {"source": "{{ $json.id }}"}})
    assert nodes["To exchange"]["parameters"] == {
        "mode": "exchange", "exchange": "events", "exchange_type": "topic", "routing_key": "orders.done",
        "durable": False, "auto_delete": False, "send_input_data": False, "message": "{{ $json.id }}", "headers": {}}
    assert not any(nodes[n].get("disabled") for n in ("On order", "To queue", "To exchange"))
    assert nodes["Ack"]["disabled"] and nodes["Binary"]["disabled"]
    assert ("On order", "rabbitmq", "rabbitmq", "Broker") in {
        (c["node_name"], c["slot"], c["type"], c["name"]) for c in result.credentials}
    report = {(p["node"], p["parameter"], p["severity"]) for p in result.report}
    assert ("On order", "options.acknowledge", "warning") in report
    assert any(p["node"] == "Ack" and "deleteMessage" in p["reason"] for p in result.report)
    assert any(p["node"] == "Binary" and "contentIsBinary" in p["reason"] for p in result.report)
