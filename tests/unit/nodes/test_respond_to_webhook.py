import pytest

from nodes.builtin.respond_to_webhook import RespondToWebhook
from nodes.sdk import NodeUserError, ResponseSpec
from nodes.sdk.testing import FakeContext, run_context

ITEMS = [{"json": {"id": 1}}, {"json": {"id": 2}}]


async def respond(params):
    ctx = FakeContext(RespondToWebhook, params)
    out = await run_context(RespondToWebhook, ctx, ITEMS)
    assert out["main"] == ITEMS
    [response] = ctx.responses
    return response


async def test_first_item_by_default():
    assert await respond({}) == ResponseSpec(200, {"Content-Type": "application/json"}, {"id": 1})


async def test_all_items_with_status_and_headers():
    response = await respond({"body_type": "all_items", "status": 201, "headers": {"X-Trace": "t"}})
    assert (response.status, response.body) == (201, [{"id": 1}, {"id": 2}])
    assert response.headers == {"X-Trace": "t", "Content-Type": "application/json"}


async def test_text_body_keeps_a_given_content_type():
    response = await respond({"body_type": "text", "body": 42, "headers": {"content-type": "text/csv"}})
    assert (response.body, response.headers) == ("42", {"content-type": "text/csv"})


async def test_json_body_and_no_data():
    assert (await respond({"body_type": "json", "body": {"ok": True}})).body == {"ok": True}
    assert await respond({"body_type": "no_data", "status": 204}) == ResponseSpec(204, {}, None)


async def test_status_must_be_an_http_status():
    with pytest.raises(NodeUserError, match="status"):
        await respond({"status": 1000})


async def test_header_values_from_expressions_become_text():
    response = await respond({"headers": {"X-Count": 3}})
    assert response.headers["X-Count"] == "3"
