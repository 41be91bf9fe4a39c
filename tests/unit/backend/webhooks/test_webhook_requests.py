"""What a request becomes: the item's body, headers, query, params, method and binary data."""

from __future__ import annotations

import base64

from webhook_testkit import execution_count, executions, flow, hook

from backend.db.session import session_scope
from backend.executions.models import ExecutionStep
from backend.settings import get_settings
from backend.storage import keys
from backend.storage.binary import StorageBinaryStore
from backend.storage.service import get_storage


def first_step_item(execution_id: str) -> dict:
    with session_scope() as session:
        step = session.query(ExecutionStep).filter_by(execution_id=execution_id, node_id="hook").one()
        return step.output["main"][0]


def test_json_body_and_the_rest_of_the_request(api, deploy):
    deploy(flow(hook("orders/:id")))
    response = api.post("/webhook/orders/9?source=shop&tag=a&tag=b", json={"total": 12.5, "lines": [1, 2]},
                        headers={"X-Shop": "north"})
    assert response.status_code == 200
    item = response.json()
    assert item["body"] == {"total": 12.5, "lines": [1, 2]}
    assert item["query"] == {"source": "shop", "tag": ["a", "b"]}
    assert item["params"] == {"id": "9"}
    assert item["method"] == "POST"
    assert item["headers"]["x-shop"] == "north"
    assert item["headers"]["content-type"] == "application/json"


def test_form_body_becomes_an_object(api, deploy):
    deploy(flow(hook("form")))
    response = api.post("/webhook/form", data={"name": "Ada", "tags": ["x", "y"]})
    assert response.json()["body"] == {"name": "Ada", "tags": ["x", "y"]}


def test_multipart_files_become_binary_references(api, deploy):
    deploy(flow(hook("upload")))
    response = api.post("/webhook/upload", data={"note": "scan"},
                        files={"invoice": ("invoice.pdf", b"%PDF-1.7 fake", "application/pdf")})
    assert response.status_code == 200
    assert response.json()["body"] == {"note": "scan"}
    [execution] = executions(mode="webhook")
    ref = first_step_item(execution.id)["binary"]["invoice"]
    assert {k: ref[k] for k in ("mime_type", "file_name", "size")} == {
        "mime_type": "application/pdf", "file_name": "invoice.pdf", "size": 13}
    assert ref["execution_id"] == execution.id  # stored under the execution it started: deleted with it
    stored = get_settings().storage_path / keys.binary_key(execution.team_id, execution.id, ref["id"])
    assert stored.read_bytes() == b"%PDF-1.7 fake"


def test_text_body_stays_text(api, deploy):
    deploy(flow(hook("raw")))
    response = api.post("/webhook/raw", content="line one\nline two", headers={"Content-Type": "text/plain"})
    assert response.json()["body"] == "line one\nline two"


def test_binary_body_is_base64_and_stored(api, deploy):
    deploy(flow(hook("raw")))
    payload = bytes(range(256))
    response = api.post("/webhook/raw", content=payload, headers={"Content-Type": "application/octet-stream"})
    assert base64.b64decode(response.json()["body"]) == payload
    [execution] = executions(mode="webhook")
    ref = first_step_item(execution.id)["binary"]["data"]
    assert ref["size"] == 256 and ref["mime_type"] == "application/octet-stream"
    assert await_get(execution.team_id, ref) == payload


def test_empty_body_is_an_empty_object(api, deploy):
    deploy(flow(hook("ping", method="GET")))
    assert api.get("/webhook/ping").json()["body"] == {}


def test_invalid_json_is_a_400_and_starts_nothing(api, deploy):
    deploy(flow(hook("orders")))
    response = api.post("/webhook/orders", content=b"{not json", headers={"Content-Type": "application/json"})
    assert response.status_code == 400
    assert "not valid JSON" in response.json()["error"]["message"]
    assert execution_count() == 0


def test_a_body_over_the_limit_is_refused_by_its_content_length(api, deploy, configure):
    deploy(flow(hook("orders")))
    configure(HTTP_WEBHOOK_BODY_LIMIT_BYTES="100")
    response = api.post("/webhook/orders", content=b"x" * 101, headers={"Content-Type": "text/plain"})
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "payload_too_large"
    assert "100 bytes" in response.json()["error"]["message"]
    assert execution_count() == 0


def test_a_streamed_body_over_the_limit_is_refused_while_reading(api, deploy, configure):
    deploy(flow(hook("orders")))
    configure(HTTP_WEBHOOK_BODY_LIMIT_BYTES="100")
    def chunks():  # no Content-Length: chunked transfer
        for _ in range(50):
            yield b"x" * 30

    response = api.post("/webhook/orders", content=chunks(), headers={"Content-Type": "text/plain"})
    assert response.status_code == 413
    assert execution_count() == 0


def test_a_body_at_the_limit_is_accepted(api, deploy, configure):
    deploy(flow(hook("orders")))
    configure(HTTP_WEBHOOK_BODY_LIMIT_BYTES="100")
    response = api.post("/webhook/orders", content=b"x" * 100, headers={"Content-Type": "text/plain"})
    assert response.status_code == 200


def test_json_values_a_database_cannot_store_are_refused_with_422(api, deploy):
    deploy(flow(hook("strict")))
    for body in (b'{"x": NaN}', b'{"x": "a\\u0000b"}', b'{"x": "\\ud800"}'):
        response = api.post("/webhook/strict", content=body, headers={"Content-Type": "application/json"})
        assert response.status_code == 422, (body, response.text)
        assert response.json()["error"]["code"] == "validation_error"
    assert execution_count() == 0


def await_get(team_id: str, ref: dict) -> bytes:
    import asyncio

    return asyncio.run(StorageBinaryStore(get_storage(), team_id, "0" * 32).get(ref))


async def test_files_a_webhook_stored_are_readable_by_runs_of_the_team_only():
    from backend.executions.services_factory import engine_services
    from nodes.sdk import NodeUserError

    upload = StorageBinaryStore(get_storage(), "team-a", "1" * 32)
    ref = await upload.put(b"%PDF-1.7 queued", mime_type="application/pdf", file_name="a.pdf")
    services = engine_services("team-a", "2" * 32, {"nodes": []})  # e.g. a sub-workflow of that run
    assert await services.binary.get(ref) == b"%PDF-1.7 queued"
    other_team = engine_services("team-b", "1" * 32, {"nodes": []})
    for forged in (ref, {**ref, "execution_id": "../../team-a/executions/" + "1" * 32},
                   {**ref, "id": "../" + ref["id"]}, {"id": ref["id"]}, "not a ref"):
        try:
            await other_team.binary.get(forged)
        except NodeUserError as exc:
            assert "does not exist" in str(exc)
        else:
            raise AssertionError(f"team-b read team-a's file through {forged!r}")
