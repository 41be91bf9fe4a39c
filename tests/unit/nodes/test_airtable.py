"""The Airtable node against tests/fakes/airtable: a local server answering as Airtable's Web API documents it
(api.airtable.com cannot be reached from here, so it is mocked, with its real shapes)."""

from __future__ import annotations

import time

import pytest

from backend.credentials.types.airtable import Airtable as AirtableCredential
from backend.credentials.types.airtable import AirtableFields
from backend.credentials.types.base import TestResult
from nodes.builtin.airtable import Airtable
from nodes.sdk import NodeTransientError, NodeUserError
from nodes.sdk.testing import run_node
from tests.fakes.airtable.server import BASE, TOKEN, FakeAirtable

LOOPBACK = {"http_allow_list": ["127.0.0.1"]}
TABLE = {"base_id": BASE, "table": "Tasks"}


@pytest.fixture
def airtable():
    with FakeAirtable() as server:
        yield server


async def _run(airtable, params, items=None, token=TOKEN):
    login = AirtableCredential().inject(AirtableFields(access_token=token, api_base_url=airtable.url))
    out = await run_node(Airtable, items or [{"json": {}}], params={**TABLE, **params},
                         credentials={"airtable": login}, settings=LOOPBACK)
    return [o["json"] for o in out["main"]]


async def test_create_get_update_and_delete_records(airtable):
    created = await _run(airtable, {"operation": "create", "fields_from_input": True, "typecast": True,
                                    "fields": {"Status": "Todo"}},
                         items=[{"json": {"Name": "Write docs", "Points": 3}}, {"json": {"Name": "Ship"}}])
    assert [r["fields"]["Name"] for r in created] == ["Write docs", "Ship"]
    assert airtable.requests[0].json() == {"records": [{"fields": {"Name": "Write docs", "Points": 3,
                                                            "Status": "Todo"}}], "typecast": True}
    record_id = created[0]["id"]
    updated = await _run(airtable, {"operation": "update", "record_id": record_id, "fields": {"Status": "Done"},
                                    "simplify": True})
    assert updated == [{"id": record_id, "createdTime": "2026-01-15T12:00:00.000Z", "Name": "Write docs",
                        "Points": 3, "Status": "Done"}]
    got = await _run(airtable, {"operation": "get", "record_id": record_id, "table": "tblTasks00000001"})
    assert got[0]["fields"]["Status"] == "Done"
    assert await _run(airtable, {"operation": "delete", "record_id": record_id}) == \
        [{"id": record_id, "deleted": True}]
    assert [r["fields"]["Name"] for r in airtable.records] == ["Ship"]


async def test_list_and_search_follow_the_offset(airtable, monkeypatch):
    import nodes.builtin.airtable as airtable_module

    monkeypatch.setattr(airtable_module, "PAGE_SIZE", 4)
    airtable.seed(9, "Todo")
    airtable.seed(3, "Done")
    records = await _run(airtable, {"operation": "list", "return_all": True, "view": "Grid view",
                                    "sort": [{"field": "Points", "direction": "desc"}]})
    assert len(records) == 12
    assert [c.query.get("offset") for c in airtable.requests] == [None, "itr4", "itr8"]
    assert airtable.requests[0].query["sort[0][field]"] == "Points" and airtable.requests[0].query["view"] == "Grid view"
    airtable.requests.clear()
    todo = await _run(airtable, {"operation": "search", "filter_by_formula": "{Status} = 'Todo'", "limit": 6,
                                 "simplify": True})
    assert [r["Name"] for r in todo] == [f"Task {n}" for n in range(1, 7)]
    assert [c.query["pageSize"] for c in airtable.requests] == ["4", "2"]


async def test_a_429_without_retry_after_waits_the_documented_time(airtable, monkeypatch):
    import nodes.builtin.airtable as airtable_module

    monkeypatch.setattr(airtable_module, "RATE_LIMIT_WAIT_S", 1)  # Airtable documents 30 s
    started = time.monotonic()
    assert await _run(airtable, {"table": "Busy"}) == []
    assert time.monotonic() - started >= 1.0 and len(airtable.requests) == 2


async def test_the_documented_30_s_wait_is_longer_than_a_run_may_hold_so_it_is_transient(airtable,
                                                                                         monkeypatch):
    from nodes.sdk.jsonapi import JsonApi

    original = JsonApi.__init__
    monkeypatch.setattr(JsonApi, "__init__", lambda self, *a, **k: original(self, *a, **{**k, "max_wait_s": 5}))
    with pytest.raises(NodeTransientError, match="Airtable rate-limited GET /v0/appTEST123456789/Busy; it asks "
                                                 "to retry after 30 s"):
        await _run(airtable, {"table": "Busy"})


async def test_airtables_errors_are_named(airtable):
    with pytest.raises(NodeUserError, match=r'Airtable refused POST /v0/appTEST123456789/Tasks \(422\): '
                                            r'UNKNOWN_FIELD_NAME: Unknown field name: "Size"'):
        await _run(airtable, {"operation": "create", "fields": {"Size": 1}})
    with pytest.raises(NodeUserError, match="INVALID_FILTER_BY_FORMULA: The formula for filtering records is "
                                            "invalid"):
        await _run(airtable, {"operation": "search", "filter_by_formula": "Status ="})
    with pytest.raises(NodeUserError, match=r"\(403\): INVALID_PERMISSIONS_OR_MODEL_NOT_FOUND"):
        await _run(airtable, {"table": "Nope"})
    with pytest.raises(NodeUserError, match=r"\(404\): NOT_FOUND"):
        await _run(airtable, {"operation": "get", "record_id": "rec404"})
    with pytest.raises(NodeUserError, match=r"\(401\): AUTHENTICATION_REQUIRED: Authentication required"):
        await _run(airtable, {}, token="patWRONG")


@pytest.mark.parametrize(("params", "message"), [
    ({"operation": "search"}, "record search needs filter_by_formula"),
    ({"operation": "delete"}, "record delete needs record_id"),
    ({"operation": "create"}, "record create needs fields"),
])
async def test_incomplete_parameters_are_refused(airtable, params, message):
    with pytest.raises(NodeUserError, match=message):
        await _run(airtable, params)
    assert airtable.requests == []


async def test_the_credential_test_calls_whoami(airtable, monkeypatch):
    from backend.settings import get_settings

    monkeypatch.setenv("LINKFLOW_HTTP_ALLOW_LIST", "127.0.0.1")
    get_settings.cache_clear()
    credential = AirtableCredential()
    assert await credential.test(AirtableFields(access_token=TOKEN, api_base_url=airtable.url)) == \
        TestResult(True, "authenticated as usrTEST (scopes: data.records:read, data.records:write)")
    bad = await credential.test(AirtableFields(access_token="patX", api_base_url=airtable.url))
    assert bad.ok is False and "answered 401: AUTHENTICATION_REQUIRED: Authentication required" in bad.message
    get_settings.cache_clear()
