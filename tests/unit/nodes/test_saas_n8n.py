"""n8n workflows with GitHub, GitLab, Jira, Notion, Airtable and Google Sheets nodes (tests/fixtures/n8n/, written in n8n's
format), converted, their credentials bound by the names the files give, and run by the engine against the
fake vendor APIs in tests/fakes/ (the vendors cannot be reached from here, so they are mocked with their
documented shapes). Operations the LinkFlow nodes do not have are reported by name."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from backend.credentials.types.airtable import Airtable, AirtableFields
from backend.credentials.types.github import GitHub, GitHubFields
from backend.credentials.types.gitlab import GitLab, GitLabFields
from backend.credentials.types.google_sheets import GoogleSheets, GoogleSheetsFields
from backend.credentials.types.jira import Jira, JiraFields
from backend.credentials.types.notion import Notion, NotionFields
from backend.engine import EngineServices, ExecutionInfo, InMemoryStepStore, run
from backend.workflows.n8n.service import convert_file
from tests.fakes.airtable import server as airtable
from tests.fakes.github import server as github
from tests.fakes.gitlab import server as gitlab
from tests.fakes.google_sheets import server as sheets
from tests.fakes.jira import server as jira
from tests.fakes.notion import server as notion

FIXTURES = Path(__file__).parents[2] / "fixtures" / "n8n"
LOOPBACK = {"http_allow_list": ["127.0.0.1"]}


async def _run(fixture: str, logins: dict, items: list[dict]):
    result = convert_file((FIXTURES / fixture).read_bytes())
    assert [p for p in result.report if p["severity"] == "error"] == []
    nodes = {n["id"]: n for n in result.workflow["nodes"]}
    for ref in result.credentials:
        nodes[ref["node"]].setdefault("credentials", {})[ref["slot"]] = ref["name"]

    async def credentials(credential_id: str, node_name: str) -> dict:
        return logins[credential_id]

    done = await run(result.workflow, execution=ExecutionInfo(id="e1", mode="manual"),
                     input_items=[{"json": i} for i in items], store=InMemoryStepStore(),
                     services=EngineServices(credentials=credentials, settings=LOOPBACK))
    assert done.status == "succeeded", done.error
    return [o["json"] for o in done.output]


async def test_github_issue_triage():
    with github.FakeGitHub() as server:
        login = GitHub().inject(GitHubFields(access_token=github.TOKEN, api_base_url=server.url))
        out = await _run("github_issue_triage.json", {"Octo bot": login},
                         [{"check": "lint", "branch": "main", "run": 12}])
        issue = server.issues["octo/hello"][0]
        assert (issue["title"], issue["body"]) == ("lint failed on main", "Run 12 failed.")
        assert issue["labels"] == [{"name": "ci"}, {"name": "bug"}] and issue["assignees"] == [{"login": "ada"}]
        assert server.comments[0]["body"] == "Triaged: LINT FAILED ON MAIN"
        assert [i["number"] for i in out] == [1] and out[0]["comments"] == 1


async def test_gitlab_close_stale():
    with gitlab.FakeGitLab() as server:
        login = GitLab().inject(GitLabFields(access_token=gitlab.TOKEN, server_url=server.url))
        out = await _run("gitlab_close_stale.json", {"GitLab work": login},
                         [{"title": "Old flaky test", "details": "fails weekly"}])
        assert [(i["iid"], i["state"], i["description"]) for i in out] == \
            [(1, "closed", "Closed as stale: Old flaky test")]
        assert out[0]["labels"] == ["stale"]


async def test_jira_incident():
    with jira.FakeJira() as server:
        login = Jira().inject(JiraFields(site_url=server.url, email=jira.EMAIL, api_token=jira.TOKEN))
        out = await _run("jira_incident.json", {"Jira cloud": login}, [{"service": "api", "source": "grafana"}])
        issue = server.issues["OPS-1"]["fields"]
        assert issue["summary"] == "[resolved] api is down" and issue["status"] == {"name": "Done"}
        assert issue["issuetype"] == {"id": "10001"} and issue["priority"] == {"id": "1"}
        assert issue["description"]["content"][0]["content"][0]["text"] == "Alert from grafana"
        assert server.comments["OPS-1"][0]["body"]["content"][0]["content"][0]["text"] == "Paged on-call for api"
        assert [i["key"] for i in out] == ["OPS-1"]


async def test_notion_task_log():
    with notion.FakeNotion() as server:
        login = Notion().inject(NotionFields(api_key=notion.TOKEN, api_base_url=server.url))
        out = await _run("notion_task_log.json", {"Notion workspace": login},
                         [{"task": "Rotate keys", "points": 3, "owner": "ada"}])
        row = next(iter(server.pages.values()))
        assert row["properties"]["Name"]["title"][0]["text"]["content"] == "Rotate keys"
        assert row["properties"]["Points"] == {"number": 3}
        assert row["properties"]["Tags"] == {"multi_select": [{"name": "ops"}, {"name": "weekly"}]}
        notes = server.children[row["id"].replace("-", "")]
        assert [b["type"] for b in notes] == ["paragraph", "to_do"]
        assert notes[0]["paragraph"]["rich_text"][0]["text"]["content"] == "Created for ada"
        # two appended blocks are two items, so the query ran twice (as it does in n8n)
        assert [r["id"] for r in out] == [row["id"]] * 2


async def test_airtable_tasks():
    with airtable.FakeAirtable() as server:
        login = Airtable().inject(AirtableFields(access_token=airtable.TOKEN, api_base_url=server.url))
        out = await _run("airtable_tasks.json", {"Airtable PAT": login},
                         [{"name": " Write docs ", "points": 1}, {"name": "Ship", "points": 5}])
        assert [r["fields"] for r in server.records] == [
            {"Name": "Write docs", "Status": "Todo", "Points": 1}, {"Name": "Ship", "Status": "Done", "Points": 5}]
        # the search ran once per input item (as in n8n without "execute once"), each finding the one left
        assert [(r["Name"], r["Status"]) for r in out] == [("Write docs", "Todo")] * 2


async def test_google_sheets_signups():
    from tests.unit.nodes.test_google_sheets import EMAIL, PRIVATE, PUBLIC

    with sheets.FakeSheets(public_key=PUBLIC, client_email=EMAIL) as server:
        server.sheets["Sheet1"] = [["name", "email"]]
        key = json.dumps({"client_email": EMAIL, "private_key": PRIVATE, "token_uri": server.token_url})
        login = GoogleSheets().inject(GoogleSheetsFields(service_account_key=key, api_base_url=server.url))
        out = await _run("google_sheets_signups.json", {"Sheets robot": login},
                         [{"first": "Ada", "last": "Lovelace", "email": "Ada@Example.com"}])
        assert server.sheets["Sheet1"] == [["name", "email"], ["Ada Lovelace", "ada@example.com"]]
        assert out == [{"name": "Ada Lovelace", "email": "ada@example.com", "row_number": 2}]


@pytest.mark.parametrize(("node", "reason"), [
    ({"type": "n8n-nodes-base.github", "parameters": {"resource": "file", "operation": "create"}},
     "GitHub file 'create' is not converted"),
    ({"type": "n8n-nodes-base.gitlab", "parameters": {"resource": "release", "operation": "create"}},
     "GitLab release 'create' is not converted"),
    ({"type": "n8n-nodes-base.jira", "parameters": {"operation": "changelog"}},
     "Jira issue 'changelog' is not converted"),
    ({"type": "n8n-nodes-base.jira", "parameters": {"operation": "getAll"}}, "needs a bounded one"),
    ({"type": "n8n-nodes-base.notion", "typeVersion": 2, "parameters": {"resource": "database",
                                                                         "operation": "search"}},
     "Notion database 'search' is not converted"),
    ({"type": "n8n-nodes-base.notion", "typeVersion": 2, "parameters": {
        "resource": "databasePage", "operation": "create", "databaseId": "x",
        "propertiesUi": {"propertyValues": [{"key": "Files|files"}]}}}, "property 'Files' of type 'files'"),
    ({"type": "n8n-nodes-base.airtable", "typeVersion": 2, "parameters": {"operation": "upsert"}},
     "Airtable record 'upsert' is not converted"),
    ({"type": "n8n-nodes-base.googleSheets", "typeVersion": 4.5, "parameters": {
        "operation": "appendOrUpdate", "sheetName": {"mode": "name", "value": "S"}}}, "'appendOrUpdate' is not"),
    ({"type": "n8n-nodes-base.googleSheets", "typeVersion": 4.5, "parameters": {
        "sheetName": {"mode": "id", "value": "123"}}}, "by its id (gid) is not converted"),
])
def test_other_operations_are_reported_by_name(node, reason):
    document = {"name": "x", "nodes": [{"name": "Step", "position": [0, 0], "typeVersion": 1, **node}],
                "connections": {}}
    result = convert_file(document)
    step = result.workflow["nodes"][0]
    assert step["disabled"] is True
    assert any(p["node"] == "Step" and reason in p["reason"] for p in result.report), result.report


def test_airtable_v1_and_auto_mapped_columns_convert():
    v1 = {"name": "x", "connections": {}, "nodes": [
        {"name": "List", "type": "n8n-nodes-base.airtable", "typeVersion": 1, "position": [0, 0],
         "parameters": {"operation": "list", "application": "appX", "table": "Tasks", "returnAll": False,
                        "limit": 5, "additionalOptions": {"filterByFormula": "{Status} = 'Todo'"}}},
        {"name": "Append", "type": "n8n-nodes-base.airtable", "typeVersion": 1, "position": [0, 0],
         "parameters": {"operation": "append", "application": "appX", "table": "Tasks"}},
        {"name": "Update", "type": "n8n-nodes-base.airtable", "typeVersion": 2, "position": [0, 0],
         "parameters": {"operation": "update", "base": "appX", "table": "Tasks",
                        "columns": {"mappingMode": "autoMapInputData", "matchingColumns": ["id"]}}}]}
    nodes = {n["name"]: n["parameters"] for n in convert_file(v1).workflow["nodes"]}
    assert nodes["List"] == {"base_id": "appX", "table": "Tasks", "operation": "search", "return_all": False,
                             "limit": 5, "filter_by_formula": "{Status} = 'Todo'"}
    assert nodes["Append"]["operation"] == "create" and nodes["Append"]["fields_from_input"] is True
    assert nodes["Update"]["record_id"] == "{{ $json.id }}" and nodes["Update"]["fields_from_input"] is True
