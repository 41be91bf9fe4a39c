"""The HubSpot node against tests/fakes/hubspot: a local server answering as HubSpot's CRM API v3 documents it
(HubSpot is a third-party service this machine cannot reach, so it is mocked, with its real shapes)."""

from __future__ import annotations

import time

import pytest

from backend.credentials.types.hubspot import HubSpot as HubSpotCredential
from backend.credentials.types.hubspot import HubSpotFields
from nodes.builtin.hubspot import HubSpot
from nodes.sdk import NodeUserError
from nodes.sdk.testing import run_node
from tests.fakes.hubspot.server import TOKEN, FakeHubSpot

LOOPBACK = {"http_allow_list": ["127.0.0.1"]}


@pytest.fixture
def hubspot():
    with FakeHubSpot(seed=250) as server:
        yield server


def _login(hubspot, token=TOKEN) -> dict:
    return HubSpotCredential().inject(HubSpotFields(access_token=token, api_base_url=hubspot.url))


async def _run(hubspot, params, token=TOKEN):
    out = await run_node(HubSpot, [{"json": {}}], params=params, credentials={"hubspot": _login(hubspot, token)},
                         settings=LOOPBACK)
    return [o["json"] for o in out["main"]]


async def test_create_get_and_update_a_contact(hubspot):
    created = await _run(hubspot, {"properties": {"email": "ada@example.com", "firstname": "Ada", "vip": True}})
    assert created[0]["properties"]["email"] == "ada@example.com"
    assert hubspot.requests[-1].json() == {"properties": {"email": "ada@example.com", "firstname": "Ada",
                                                          "vip": "true"}}
    contact_id = created[0]["id"]
    got = await _run(hubspot, {"operation": "get", "contact_id": "ada@example.com", "id_property": "email",
                               "property_names": ["email", "vip"]})
    assert got[0]["id"] == contact_id and got[0]["properties"] == {"email": "ada@example.com", "vip": "true"}
    updated = await _run(hubspot, {"operation": "update", "contact_id": contact_id,
                                   "properties": {"lastname": "Lovelace"}})
    assert updated[0]["properties"]["lastname"] == "Lovelace" and hubspot.requests[-1].method == "PATCH"


async def test_upsert_updates_the_contact_with_that_email_or_creates_one(hubspot):
    updated = await _run(hubspot, {"operation": "upsert", "properties": {"email": "user2@example.com",
                                                                         "lastname": "Two"}})
    assert updated[0]["id"] == "502" and hubspot.contacts["502"]["properties"]["lastname"] == "Two"
    assert [r.method for r in hubspot.requests] == ["POST", "PATCH"]
    created = await _run(hubspot, {"operation": "upsert", "properties": {"email": "new@example.com"}})
    assert created[0]["id"] == "751" and [r.method for r in hubspot.requests][2:] == ["POST", "POST"]


async def test_search_and_listing_follow_the_after_cursor(hubspot):
    leads = await _run(hubspot, {"operation": "search", "return_all": True,
                                 "filters": [{"property": "lifecyclestage", "operator": "EQ", "value": "lead"}],
                                 "property_names": ["email", "lifecyclestage"]})
    assert len(leads) == 125 and {c["properties"]["lifecyclestage"] for c in leads} == {"lead"}
    bodies = [r.json() for r in hubspot.requests]
    assert [b.get("after") for b in bodies] == [None] and bodies[0]["limit"] == 200  # 125 fit one page of 200
    hubspot.requests.clear()
    everyone = await _run(hubspot, {"operation": "get_all", "return_all": True})
    assert len(everyone) == 250 and len({c["id"] for c in everyone}) == 250
    assert [r.query.get("after") for r in hubspot.requests] == [None, "100", "200"]
    hubspot.requests.clear()
    some = await _run(hubspot, {"operation": "search", "query": "example.com", "limit": 205})
    assert len(some) == 205
    assert [(b.json()["limit"], b.json().get("after")) for b in hubspot.requests] == [(200, None), (5, "200")]


async def test_a_429_is_waited_out(hubspot):
    started = time.monotonic()
    await _run(hubspot, {"operation": "search", "query": "busy"})
    assert time.monotonic() - started >= 1.0 and len(hubspot.requests) == 2


async def test_hubspots_message_is_quoted(hubspot):
    with pytest.raises(NodeUserError, match=r"HubSpot refused POST /crm/v3/objects/contacts \(409\): Contact already "
                                            r"exists. Existing ID: 501 \(CONFLICT\)"):
        await _run(hubspot, {"properties": {"email": "user1@example.com"}})
    with pytest.raises(NodeUserError, match=r"\(404\): Object not found.*\(OBJECT_NOT_FOUND\)"):
        await _run(hubspot, {"operation": "get", "contact_id": "999999"})
    with pytest.raises(NodeUserError, match=r"\(401\): Authentication credentials not found"):
        await _run(hubspot, {"operation": "get_all"}, token="pat-wrong")


@pytest.mark.parametrize(("params", "message"), [
    ({}, "contact create needs properties"),
    ({"operation": "update", "properties": {"a": 1}}, "needs contact_id"),
    ({"operation": "search"}, "needs filters or a query"),
    ({"operation": "upsert", "properties": {"firstname": "x"}}, "upsert needs properties.email"),
    ({"operation": "get", "contact_id": ".."}, "is not a contact id or email"),
    ({"operation": "search", "filters": [{"property": "x", "operator": "LIKE"}]}, "operator"),
])
async def test_incomplete_parameters_are_refused(hubspot, params, message):
    with pytest.raises(NodeUserError, match=message):
        await _run(hubspot, params)


async def test_the_credential_test(hubspot, monkeypatch):
    monkeypatch.setenv("LINKFLOW_HTTP_ALLOW_LIST", "127.0.0.1")
    from backend.settings import get_settings

    get_settings.cache_clear()
    try:
        good = await HubSpotCredential().test(HubSpotFields(access_token=TOKEN, api_base_url=hubspot.url))
        bad = await HubSpotCredential().test(HubSpotFields(access_token="pat-x", api_base_url=hubspot.url))
    finally:
        get_settings.cache_clear()
    assert good.ok and not bad.ok and "401: Authentication credentials not found." in bad.message
