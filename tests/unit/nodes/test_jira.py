"""The Jira node against tests/fakes/jira: a local server answering as the Jira Cloud REST API v3 (and Data
Center's v2) documents it (Atlassian's cloud cannot be reached from here, so it is mocked, with its shapes)."""

from __future__ import annotations

import time

import pytest

from backend.credentials.types.base import TestResult
from backend.credentials.types.jira import Jira as JiraCredential
from backend.credentials.types.jira import JiraFields
from nodes.builtin.jira import Jira
from nodes.sdk import NodeUserError
from nodes.sdk.testing import run_node
from tests.fakes.jira.server import EMAIL, TOKEN, FakeJira

LOOPBACK = {"http_allow_list": ["127.0.0.1"]}


@pytest.fixture
def jira():
    with FakeJira() as server:
        yield server


def _fields(jira, **values) -> JiraFields:
    return JiraFields(**{"site_url": jira.url, "email": EMAIL, "api_token": TOKEN, **values})


async def _run(jira, params, **credential):
    login = JiraCredential().inject(_fields(jira, **credential))
    out = await run_node(Jira, [{"json": {}}], params=params, credentials={"jira": login}, settings=LOOPBACK)
    return [o["json"] for o in out["main"]]


async def test_create_get_update_transition_comment_and_delete(jira):
    created = await _run(jira, {"project": "OPS", "issue_type": "Bug", "summary": "Disk full",
                                "description": "db-1 is at 99%\nclean it", "labels": ["infra"],
                                "priority": "High", "fields": {"duedate": "2026-12-24"}})
    assert created[0]["key"] == "OPS-1"
    sent = jira.requests[-1].json()["fields"]
    assert sent["description"]["type"] == "doc" and len(sent["description"]["content"]) == 2  # ADF paragraphs
    assert sent["issuetype"] == {"name": "Bug"} and sent["priority"] == {"name": "High"}
    assert sent["duedate"] == "2026-12-24"
    assert await _run(jira, {"operation": "update", "issue_key": "OPS-1", "summary": "Disk full on db-1"}) == \
        [{"key": "OPS-1", "success": True}]
    moved = await _run(jira, {"operation": "transition", "issue_key": "OPS-1", "transition": "done"})
    assert moved[0]["transition"] == {"id": "31", "name": "Done"}
    got = await _run(jira, {"operation": "get", "issue_key": "OPS-1"})
    assert got[0]["fields"]["summary"] == "Disk full on db-1" and got[0]["fields"]["status"]["name"] == "Done"
    comment = await _run(jira, {"resource": "comment", "operation": "add", "issue_key": "OPS-1",
                                "comment": "Cleaned"})
    assert comment[0]["body"]["content"][0]["content"][0]["text"] == "Cleaned"
    assert await _run(jira, {"operation": "delete", "issue_key": "OPS-1"}) == [{"key": "OPS-1", "deleted": True}]
    assert "OPS-1" not in jira.issues


async def test_ids_as_n8n_stores_them_and_an_update_that_also_transitions(jira):
    created = await _run(jira, {"project": "10000", "issue_type": "10001", "summary": "By ids", "priority": "2"})
    sent = jira.requests[-1].json()["fields"]
    assert sent["project"] == {"id": "10000"} and sent["issuetype"] == {"id": "10001"}
    assert sent["priority"] == {"id": "2"} and created[0]["key"] == "OPS-1"
    await _run(jira, {"operation": "update", "issue_key": "OPS-1", "summary": "Renamed", "transition": "21"})
    assert [(c.method, c.path) for c in jira.requests[-2:]] == [("PUT", "/rest/api/3/issue/OPS-1"),
                                               ("POST", "/rest/api/3/issue/OPS-1/transitions")]
    assert jira.issues["OPS-1"]["fields"]["status"] == {"name": "In Progress"}
    assert jira.issues["OPS-1"]["fields"]["summary"] == "Renamed"


async def test_jql_search_follows_next_page_tokens(jira, monkeypatch):
    import nodes.builtin.jira as jira_module

    monkeypatch.setattr(jira_module, "PAGE_SIZE", 4)
    jira.seed("OPS", 10)
    jira.seed("WEB", 2)
    issues = await _run(jira, {"operation": "get_all", "jql": "project = OPS", "return_all": True})
    assert [i["key"] for i in issues] == [f"OPS-{n}" for n in range(1, 11)]
    tokens = [c.json().get("nextPageToken") for c in jira.requests if c.path == "/rest/api/3/search/jql"]
    assert tokens == [None, "4", "8"]
    assert jira.requests[-1].json()["fields"] == ["*navigable"]
    assert len(await _run(jira, {"operation": "get_all", "jql": "project = OPS", "limit": 6})) == 6


async def test_data_center_v2_pages_by_start_at_and_sends_plain_text(jira, monkeypatch):
    import nodes.builtin.jira as jira_module

    monkeypatch.setattr(jira_module, "PAGE_SIZE", 3)
    jira.seed("OPS", 7)
    issues = await _run(jira, {"operation": "get_all", "jql": "project = OPS", "return_all": True},
                        email="", api_version="2")  # Bearer personal access token
    assert len(issues) == 7
    assert [c.json()["startAt"] for c in jira.requests if c.path == "/rest/api/2/search"] == [0, 3, 6]
    await _run(jira, {"project": "OPS", "summary": "x", "description": "plain"}, email="", api_version="2")
    assert jira.requests[-1].json()["fields"]["description"] == "plain"
    for n in range(5):
        await _run(jira, {"resource": "comment", "operation": "add", "issue_key": "OPS-2", "comment": f"c{n}"})
    comments = await _run(jira, {"resource": "comment", "operation": "get_all", "issue_key": "OPS-2",
                                 "return_all": True})
    assert [c["body"]["content"][0]["content"][0]["text"] for c in comments] == [f"c{n}" for n in range(5)]
    assert [c.query["startAt"] for c in jira.requests if c.method == "GET"] == ["0", "3"]


async def test_a_429_is_waited_out_as_retry_after_says(jira):
    jira.seed("BUSY", 1)
    started = time.monotonic()
    got = await _run(jira, {"operation": "get", "issue_key": "BUSY-1"})
    assert got[0]["key"] == "BUSY-1" and time.monotonic() - started >= 1.0
    assert [c.path for c in jira.requests] == ["/rest/api/3/issue/BUSY-1"] * 2


async def test_jiras_errors_are_named(jira):
    with pytest.raises(NodeUserError, match=r"Jira refused POST /rest/api/3/issue \(400\): project: valid "
                                            "project is required"):
        await _run(jira, {"project": "NOPE", "summary": "x"})
    with pytest.raises(NodeUserError, match="Error in the JQL Query"):
        await _run(jira, {"operation": "get_all", "jql": "= nonsense"})
    with pytest.raises(NodeUserError, match=r"\(404\): Issue does not exist"):
        await _run(jira, {"operation": "get", "issue_key": "OPS-99"})
    jira.seed("OPS", 1)
    with pytest.raises(NodeUserError, match=r"OPS-1 has no transition 'Reopen' now; available: To Do \(11\), "):
        await _run(jira, {"operation": "transition", "issue_key": "OPS-1", "transition": "Reopen"})
    with pytest.raises(NodeUserError, match="Transition id '99' is not valid"):
        await _run(jira, {"operation": "transition", "issue_key": "OPS-1", "transition": "99"})
    with pytest.raises(NodeUserError, match=r"\(401\): Client must be authenticated"):
        await _run(jira, {"operation": "get", "issue_key": "OPS-1"}, api_token="wrong")


@pytest.mark.parametrize(("params", "message"), [
    ({"project": "OPS"}, "issue create needs summary"),
    ({"operation": "get_all"}, "issue get_all needs jql"),
    ({"resource": "comment", "operation": "create"}, "comment has no operation 'create'"),
    ({"operation": "update", "issue_key": "OPS-1"}, "needs something to change"),
])
async def test_incomplete_parameters_are_refused(jira, params, message):
    jira.seed("OPS", 1)
    with pytest.raises(NodeUserError, match=message):
        await _run(jira, params)


async def test_the_credential_test_calls_myself(jira, monkeypatch):
    from backend.settings import get_settings

    monkeypatch.setenv("LINKFLOW_HTTP_ALLOW_LIST", "127.0.0.1")
    get_settings.cache_clear()
    credential = JiraCredential()
    assert await credential.test(_fields(jira)) == TestResult(True, "authenticated as Ada Lovelace")
    bad = await credential.test(_fields(jira, api_token="nope"))
    assert bad.ok is False and "answered 401: Client must be authenticated" in bad.message
    get_settings.cache_clear()
