"""The Notion node against tests/fakes/notion: a local server answering as Notion's API (2022-06-28)
documents it (api.notion.com cannot be reached from here, so it is mocked, with its real shapes)."""

from __future__ import annotations

import time

import pytest

from backend.credentials.types.base import TestResult
from backend.credentials.types.notion import Notion as NotionCredential
from backend.credentials.types.notion import NotionFields
from nodes.builtin.notion import Notion
from nodes.sdk import NodeUserError
from nodes.sdk.testing import run_node
from tests.fakes.notion.server import BUSY_DB, DB, TOKEN, FakeNotion

LOOPBACK = {"http_allow_list": ["127.0.0.1"]}


@pytest.fixture
def notion():
    with FakeNotion() as server:
        yield server


async def _run(notion, params, token=TOKEN):
    login = NotionCredential().inject(NotionFields(api_key=token, api_base_url=notion.url))
    out = await run_node(Notion, [{"json": {}}], params=params, credentials={"notion": login}, settings=LOOPBACK)
    return [o["json"] for o in out["main"]]


async def test_create_a_row_read_update_it_and_append_blocks(notion):
    row = await _run(notion, {"resource": "database_page", "operation": "create",
                              "database_id": f"https://www.notion.so/acme/Tasks-{DB}?v=123",
                              "property_values": [
                                  {"name": "Name", "type": "title", "value": "Ship it"},
                                  {"name": "Status", "type": "select", "value": "Open"},
                                  {"name": "Tags", "type": "multi_select", "value": "a, b"},
                                  {"name": "Points", "type": "number", "value": "3"},
                                  {"name": "Done", "type": "checkbox", "value": "false"},
                                  {"name": "Due", "type": "date", "value": "2026-12-24"}],
                              "text": "first line\nsecond line"})
    sent = notion.requests[-1].json()
    assert sent["parent"] == {"database_id": DB}
    assert sent["properties"]["Tags"] == {"multi_select": [{"name": "a"}, {"name": "b"}]}
    assert sent["properties"]["Points"] == {"number": 3} and sent["properties"]["Done"] == {"checkbox": False}
    assert sent["properties"]["Due"] == {"date": {"start": "2026-12-24"}}
    assert [b["paragraph"]["rich_text"][0]["text"]["content"] for b in sent["children"]] == \
        ["first line", "second line"]
    page_id = row[0]["id"]
    got = await _run(notion, {"operation": "get", "page_id": page_id})
    assert got[0]["properties"]["Name"]["title"][0]["text"]["content"] == "Ship it"
    updated = await _run(notion, {"operation": "update", "page_id": page_id, "archived": True,
                                  "properties": {"Status": {"select": {"name": "Done"}}}})
    assert updated[0]["archived"] is True and updated[0]["properties"]["Status"]["select"]["name"] == "Done"
    added = await _run(notion, {"resource": "block", "operation": "append", "block_id": page_id,
                                "blocks": [{"type": "divider", "divider": {}}], "text": "third"})
    assert [b["type"] for b in added] == ["paragraph", "divider"]
    titled = await _run(notion, {"operation": "create", "database_id": DB, "title": "By title"})
    assert titled[0]["properties"] == {"Name": {"title": [{"type": "text", "text": {"content": "By title"}}]}}
    child = await _run(notion, {"resource": "page", "operation": "create", "page_id": page_id,
                                "title": "Notes"})
    assert child[0]["parent"] == {"type": "page_id", "page_id": page_id.replace("-", "")}


async def test_queries_and_block_lists_follow_cursors(notion, monkeypatch):
    import nodes.builtin.notion as notion_module

    monkeypatch.setattr(notion_module, "PAGE_SIZE", 4)
    notion.seed(9, "Open")
    notion.seed(2, "Done")
    rows = await _run(notion, {"database_id": DB, "return_all": True,
                               "filter": {"property": "Status", "select": {"equals": "Open"}}})
    assert [r["properties"]["Name"]["title"][0]["text"]["content"] for r in rows] == \
        [f"Row {n}" for n in range(1, 10)]
    assert [c.json().get("start_cursor") for c in notion.requests] == [None, "4", "8"]
    assert notion.requests[0].json()["filter"] == {"property": "Status", "select": {"equals": "Open"}}
    assert len(await _run(notion, {"database_id": DB, "limit": 5})) == 5
    page_id = rows[0]["id"]
    await _run(notion, {"resource": "block", "operation": "append", "block_id": page_id,
                        "text": "\n".join(f"line {n}" for n in range(6))})
    notion.requests.clear()
    blocks = await _run(notion, {"resource": "block", "operation": "get_all", "block_id": page_id,
                                 "return_all": True})
    assert len(blocks) == 6 and [c.query.get("start_cursor") for c in notion.requests] == [None, "4"]


async def test_a_429_is_waited_out_as_retry_after_says(notion):
    started = time.monotonic()
    assert await _run(notion, {"database_id": BUSY_DB}) == []
    assert time.monotonic() - started >= 1.0 and len(notion.requests) == 2


async def test_notions_errors_are_named(notion):
    with pytest.raises(NodeUserError, match=r"Notion refused POST /v1/pages \(400\): validation_error: Size is "
                                            "not a property that exists."):
        await _run(notion, {"operation": "create", "database_id": DB,
                            "property_values": [{"name": "Size", "type": "number", "value": 1}]})
    with pytest.raises(NodeUserError, match=r"\(404\): object_not_found: Could not find database"):
        await _run(notion, {"database_id": "1" * 32})
    with pytest.raises(NodeUserError, match=r"\(401\): unauthorized: API token is invalid"):
        await _run(notion, {"database_id": DB}, token="secret_wrong")
    with pytest.raises(NodeUserError, match="'not-an-id' is not a Notion id"):
        await _run(notion, {"database_id": "not-an-id"})
    with pytest.raises(NodeUserError, match=r"property 'Points' \(number\) cannot take the value 'many'"):
        await _run(notion, {"operation": "create", "database_id": DB,
                            "property_values": [{"name": "Points", "type": "number", "value": "many"}]})


@pytest.mark.parametrize(("params", "message"), [
    ({"operation": "get"}, "database_page get needs page_id"),
    ({"resource": "block", "operation": "append", "block_id": DB}, "needs text or blocks"),
    ({"resource": "page", "operation": "get_all"}, "page has no operation 'get_all'"),
])
async def test_incomplete_parameters_are_refused(notion, params, message):
    with pytest.raises(NodeUserError, match=message):
        await _run(notion, params)


async def test_the_credential_test_calls_users_me(notion, monkeypatch):
    from backend.settings import get_settings

    monkeypatch.setenv("LINKFLOW_HTTP_ALLOW_LIST", "127.0.0.1")
    get_settings.cache_clear()
    credential = NotionCredential()
    assert await credential.test(NotionFields(api_key=TOKEN, api_base_url=notion.url)) == \
        TestResult(True, "authenticated as LinkFlow")
    bad = await credential.test(NotionFields(api_key="secret_x", api_base_url=notion.url))
    assert bad.ok is False and "answered 401: unauthorized: API token is invalid." in bad.message
    get_settings.cache_clear()
