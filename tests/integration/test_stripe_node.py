"""The Stripe node against stripe-mock (Stripe's own API mock, started by `infra.sh up stripe`): the requests are
validated against Stripe's OpenAPI spec and answered with its fixtures.

stripe-mock is stateless: every list answers one object with ``has_more: false``, and it never rate-limits. So the
pagination and 429 tests put a small recording proxy (``_Pager``, below) in front of it that forwards every request
unchanged and, when asked, (a) marks the next list answers ``has_more: true`` and gives their one object a
page-numbered id, so the node's ``starting_after`` cursor can be followed and checked, or (b) answers one request
with Stripe's documented 429 (``{"error": {"type": "invalid_request_error", "code": "rate_limit", ...}}``).
"""

from __future__ import annotations

import json
import time

import httpx
import pytest

from backend.credentials.types.stripe import Stripe as StripeCredential
from backend.credentials.types.stripe import StripeFields
from nodes.builtin.stripe import Stripe
from nodes.sdk import NodeUserError
from nodes.sdk.testing import FakeContext, run_context, run_node
from tests.fakes.http_fake import FakeApi, Request

LOOPBACK = {"http_allow_list": ["127.0.0.1"]}
KEY = "sk_test_123"


class _Pager(FakeApi):
    def __init__(self, upstream: str) -> None:
        super().__init__()
        self.upstream, self.more_pages, self.limited = upstream.rstrip("/"), 0, 0

    def answer(self, request: Request):
        if self.limited:
            self.limited -= 1
            return 429, {"Retry-After": "1"}, {"error": {"type": "invalid_request_error", "code": "rate_limit",
                                                        "message": "Too many requests hit the API too quickly."}}
        headers = {k: v for k, v in request.headers.items() if k in ("authorization", "content-type",
                                                                      "idempotency-key")}
        answer = httpx.request(request.method, self.upstream + request.path, params=request.query,
                               content=request.body, headers=headers, timeout=30)
        body = answer.json()
        if body.get("object") == "list" and self.more_pages:
            self.more_pages -= 1
            body["has_more"] = True
            body["data"] = [{**row, "id": f"{row['id']}_p{len(self.requests)}"} for row in body["data"]]
        return answer.status_code, {}, body


@pytest.fixture
def stripe(stripe_mock_url):
    with _Pager(stripe_mock_url) as pager:
        yield pager


def _login(url: str, key: str = KEY) -> dict:
    return StripeCredential().inject(StripeFields(secret_key=key, api_base_url=url))


async def _run(url, params, key=KEY):
    out = await run_node(Stripe, [{"json": {}}], params=params, credentials={"stripe": _login(url, key)},
                         settings=LOOPBACK)
    return [o["json"] for o in out["main"]]


async def test_create_update_and_get_a_customer(stripe):
    ctx = FakeContext(Stripe, {"operation": "create", "email": "ada@example.com", "name": "Ada Lovelace",
                               "metadata": {"plan": "pro"}, "address": {"city": "London", "country": "GB"}},
                      credentials={"stripe": _login(stripe.url)}, settings=LOOPBACK)
    created = (await run_context(Stripe, ctx, [{"json": {}}]))["main"][0]["json"]
    assert created["object"] == "customer" and created["id"].startswith("cus_")
    sent = stripe.requests[-1]
    assert sent.form() == {"email": "ada@example.com", "name": "Ada Lovelace", "metadata[plan]": "pro",
                           "address[city]": "London", "address[country]": "GB"}
    assert sent.headers["idempotency-key"].startswith("lf-")
    updated = await _run(stripe.url, {"operation": "update", "customer_id": created["id"], "phone": "+44 20"})
    assert updated[0]["object"] == "customer" and stripe.requests[-1].path == f"/v1/customers/{created['id']}"
    got = await _run(stripe.url, {"operation": "get", "customer_id": "cus_123"})
    assert got[0]["object"] == "customer"


async def test_listing_follows_starting_after(stripe):
    stripe.more_pages = 2  # stripe-mock pages once; the proxy says two more pages follow
    customers = await _run(stripe.url, {"operation": "get_all", "return_all": True, "email": "ada@example.com"})
    assert len(customers) == 3 and customers[0]["id"].endswith("_p1") and customers[1]["id"].endswith("_p2")
    assert [r.query for r in stripe.requests] == [
        {"email": "ada@example.com", "limit": "100"},
        {"email": "ada@example.com", "limit": "100", "starting_after": customers[0]["id"]},
        {"email": "ada@example.com", "limit": "100", "starting_after": customers[1]["id"]}]
    stripe.requests.clear()
    stripe.more_pages = 5
    charges = await _run(stripe.url, {"resource": "charge", "limit": 2, "customer": "cus_123"})
    assert len(charges) == 2 and all(c["object"] == "charge" for c in charges)
    assert [r.query.get("limit") for r in stripe.requests] == ["2", "1"]
    intents = await _run(stripe.url, {"resource": "payment_intent", "limit": 1})
    assert intents[0]["object"] == "payment_intent"


async def test_a_429_is_retried_after_retry_after(stripe):
    stripe.limited = 1
    started = time.monotonic()
    got = await _run(stripe.url, {"operation": "get", "customer_id": "cus_123"})
    assert got[0]["object"] == "customer" and time.monotonic() - started >= 1.0
    assert len(stripe.requests) == 2


async def test_stripes_error_message_is_quoted(stripe_mock_url):
    with pytest.raises(NodeUserError, match=r"Stripe refused GET /v1/customers \(401\): Please authenticate") as refused:
        await _run(stripe_mock_url, {"operation": "get_all"}, key="not-a-key")
    assert "not-a-key" not in str(refused.value)  # stripe-mock's message quotes the header it got: masked


def test_a_key_in_a_message_is_masked():
    from nodes.builtin.stripe import _error

    body = {"error": {"type": "invalid_request_error", "message": "Invalid API Key provided: sk_test_****1234"}}
    assert _error(json.loads(json.dumps(body))) == "Invalid API Key provided: sk_test_*** (invalid_request_error)"


@pytest.mark.parametrize(("params", "message"), [
    ({"operation": "get"}, "customer get needs customer_id"),
    ({"resource": "charge", "operation": "create"}, "charge has no operation 'create'"),
    ({"operation": "get", "customer_id": "../balance"}, "customer_id"),
])
async def test_bad_parameters_are_refused(stripe_mock_url, params, message):
    with pytest.raises(NodeUserError, match=message):
        await _run(stripe_mock_url, params)


async def test_an_n8n_feed_to_hubspot_to_stripe_workflow_converts_and_runs(stripe_mock_url):
    """tests/fixtures/n8n/rss_to_hubspot.json: RSS Read (a local feed server) -> Limit -> HubSpot search (the local
    HubSpot fake: HubSpot cannot be reached from here) -> Stripe customers by email (stripe-mock) and a HubSpot
    contact upsert; its HubSpot deal step has no counterpart and is reported by name, the rest runs."""
    from pathlib import Path

    from backend.credentials.types.hubspot import HubSpot, HubSpotFields
    from backend.engine import EngineServices, ExecutionInfo, InMemoryStepStore, run
    from backend.workflows.n8n.service import convert_file
    from tests.fakes.hubspot.server import TOKEN, FakeHubSpot
    from tests.fakes.rss.server import FeedServer

    result = convert_file((Path(__file__).parents[1] / "fixtures" / "n8n" / "rss_to_hubspot.json").read_bytes())
    assert [(p["node"], p.get("severity", "error")) for p in result.report if p.get("severity", "error") == "error"] \
        == [("Create deal", "error")]
    nodes = {n["id"]: n for n in result.workflow["nodes"]}
    for ref in result.credentials:
        if nodes[ref["node"]]["type"] != "noop":  # as bind_credentials does: the unconverted node has no slots
            nodes[ref["node"]].setdefault("credentials", {})[ref["slot"]] = ref["name"]
    with FeedServer() as feeds, FakeHubSpot(seed=2) as hubspot:
        hubspot._create({"email": "ada@example.com", "firstname": "Ada"})
        logins = {"CRM": HubSpot().inject(HubSpotFields(access_token=TOKEN, api_base_url=hubspot.url)),
                  "Billing": _login(stripe_mock_url)}

        async def credentials(credential_id: str, node_name: str) -> dict:
            return logins[credential_id]

        done = await run(result.workflow, execution=ExecutionInfo(id="e1", mode="manual"),
                         input_items=[{"json": {"feed": feeds.url + "/rss.xml"}}], store=InMemoryStepStore(),
                         services=EngineServices(credentials=credentials, settings=LOOPBACK))
        assert done.status == "succeeded", done.error
        search = hubspot.requests[0].json()
        assert search["filterGroups"] == [{"filters": [{"propertyName": "firstname", "operator": "EQ",
                                                        "value": "Ada"}]}]
        ada = hubspot.contacts["503"]["properties"]
        assert ada["lifecyclestage"] == "subscriber" and ada["last_feed_item"] == "LinkFlow 2.0 & friends"
        assert [r.method for r in hubspot.requests] == ["POST", "POST", "PATCH"]  # search, upsert's search, update
    customers = done.nodes["Stripe"]["items"]
    assert customers and {c["json"]["object"] for c in customers} == {"customer"}
    assert done.nodes["HubSpot"]["items"][0]["json"]["properties"] == {"email": "ada@example.com", "firstname": "Ada"}
