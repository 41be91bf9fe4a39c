"""/api/v1/executions: list, detail with steps, cancel, retry, retry from the failed step, delete."""

from __future__ import annotations

import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from backend.db.base import utcnow
from backend.db.session import session_scope
from backend.executions import service
from backend.executions.models import ExecutionStatus
from backend.users.models import Role

WORKFLOWS = "/api/v1/workflows"
URL = "/api/v1/executions"


def node(node_id: str, name: str, type_: str, x: float, **parameters) -> dict:
    return {"id": node_id, "name": name, "type": type_, "version": 1, "position": [x, 0],
            "parameters": parameters}


def chain(*nodes: dict) -> dict:
    connections = [{"from": a["id"], "to": b["id"]} for a, b in zip(nodes, nodes[1:], strict=False)]
    return {"nodes": list(nodes), "connections": connections}


SIMPLE = chain(node("t", "Start", "manual_trigger", 0),
               node("a", "Double", "set", 1, fields=[{"name": "doubled", "value": "{{ $json.n * 2 }}"}]))


def create_workflow(api, user, definition: dict = SIMPLE) -> str:
    response = api.post(WORKFLOWS, json={"name": "wf", "definition": definition}, headers=user.headers)
    assert response.status_code == 201, response.text
    return response.json()["id"]


def run(api, user, workflow_id: str, input_data=None) -> str:
    response = api.post(f"{WORKFLOWS}/{workflow_id}/run", json={"input": input_data or {"n": 1}},
                        headers=user.headers)
    assert response.status_code == 202, response.text
    return response.json()["execution_id"]


def detail(api, user, execution_id: str) -> dict:
    response = api.get(f"{URL}/{execution_id}", headers=user.headers)
    assert response.status_code == 200, response.text
    return response.json()


class FlakyServer:
    """A local HTTP API that answers 500 until it is told to recover."""

    def __init__(self) -> None:
        self.healthy = False
        self.hits = 0
        flaky = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - the http.server API
                flaky.hits += 1
                status, body = (200, b'{"ok": true}') if flaky.healthy else (500, b'{"error": "down"}')
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/orders"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def flaky(configure):
    configure(HTTP_ALLOW_PRIVATE="true", STORAGE_INLINE_LIMIT_BYTES="200")  # big outputs go to files
    server = FlakyServer()
    yield server
    server.server.shutdown()


def test_list_is_newest_first_with_filters_and_summaries(api, api_user, inline_worker):
    owner = api_user("owner@example.com")
    first, second = create_workflow(api, owner), create_workflow(api, owner)
    ids = [run(api, owner, first), run(api, owner, first), run(api, owner, second)]
    page = api.get(URL, headers=owner.headers).json()
    assert [item["id"] for item in page["items"]] == ids[::-1] and page["total"] == 3
    assert api.get(URL, params={"workflow_id": first}, headers=owner.headers).json()["total"] == 2
    assert api.get(URL, params={"status": "succeeded", "mode": "manual"}, headers=owner.headers).json()["total"] == 3
    assert api.get(URL, params={"status": "failed"}, headers=owner.headers).json()["total"] == 0
    later = (utcnow() + timedelta(minutes=1)).isoformat()
    assert api.get(URL, params={"started_after": later}, headers=owner.headers).json()["total"] == 0
    assert api.get(URL, params={"started_before": later}, headers=owner.headers).json()["total"] == 3
    paged = api.get(URL, params={"limit": 2, "offset": 2}, headers=owner.headers).json()
    assert [item["id"] for item in paged["items"]] == [ids[0]]
    item = page["items"][0]
    assert item["status"] == "succeeded" and item["duration_ms"] >= 0 and item["error"] is None
    assert "steps" not in item and "definition" not in item


def test_a_failed_execution_shows_its_error_and_the_failing_step(api, api_user, inline_worker):
    owner = api_user("owner@example.com")
    failing = chain(node("t", "Start", "manual_trigger", 0),
                    node("s", "Stop", "stop_and_error", 1, message="order {{ $json.n }} is invalid"))
    execution_id = run(api, owner, create_workflow(api, owner, failing), {"n": 7})
    execution = detail(api, owner, execution_id)
    assert execution["status"] == "failed"
    assert execution["error"] == "node 'Stop': order 7 is invalid"
    assert execution["steps"][-1]["status"] == "failed" and execution["steps"][-1]["error"]["message"]
    listed = api.get(URL, params={"status": "failed"}, headers=owner.headers).json()["items"]
    assert listed[0]["error"] == "node 'Stop': order 7 is invalid"


def test_cancel_a_queued_execution_and_it_never_runs(api, api_user, held_queue):
    owner = api_user("owner@example.com")
    execution_id = run(api, owner, create_workflow(api, owner))
    assert held_queue == [execution_id]
    cancelled = api.post(f"{URL}/{execution_id}/cancel", headers=owner.headers)
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    again = api.post(f"{URL}/{execution_id}/cancel", headers=owner.headers)
    assert again.status_code == 409 and "cancelled" in again.json()["error"]["message"]
    from backend.executions.worker_runtime import execute

    execute(execution_id, "late-worker")  # the message arrives after the cancel: nothing runs
    assert detail(api, owner, execution_id)["steps"] == []


def test_cancelling_a_running_execution_drops_its_workers_outcome(api, api_user, held_queue):
    owner = api_user("owner@example.com")
    execution_id = run(api, owner, create_workflow(api, owner))
    with session_scope() as session:
        assert service.claim(session, execution_id, "worker-1") is not None
    assert api.post(f"{URL}/{execution_id}/cancel", headers=owner.headers).json()["status"] == "cancelled"
    with session_scope() as session:
        assert not service.finish(session, execution_id, "worker-1", status=ExecutionStatus.SUCCEEDED)
    assert detail(api, owner, execution_id)["status"] == "cancelled"


def test_retry_runs_the_same_definition_and_input_again(api, api_user, inline_worker):
    owner = api_user("owner@example.com")
    workflow_id = create_workflow(api, owner)
    original = run(api, owner, workflow_id, {"n": 21})
    # A later edit of the workflow does not change what a retry runs.
    api.patch(f"{WORKFLOWS}/{workflow_id}", json={"definition": chain(node("t", "Start", "manual_trigger", 0))},
              headers=owner.headers)
    response = api.post(f"{URL}/{original}/retry", headers=owner.headers)
    assert response.status_code == 202
    retry = detail(api, owner, response.json()["execution_id"])
    assert retry["mode"] == "retry" and retry["retry_of_id"] == original
    assert retry["status"] == "succeeded" and retry["output"] == [{"json": {"n": 21, "doubled": 42}}]


def test_only_finished_executions_can_be_retried_or_deleted(api, api_user, held_queue):
    owner = api_user("owner@example.com")
    execution_id = run(api, owner, create_workflow(api, owner))
    for method, path in (("post", "/retry"), ("post", "/retry-from-failed"), ("delete", "")):
        response = api.request(method, f"{URL}/{execution_id}{path}", headers=owner.headers)
        assert response.status_code == 409, (path, response.text)
    assert held_queue == [execution_id]


def test_retry_from_the_failed_step_reuses_the_steps_before_it(api, api_user, inline_worker, flaky):
    owner = api_user("owner@example.com")
    definition = chain(
        node("t", "Start", "manual_trigger", 0),
        node("a", "Before", "set", 1, fields=[{"name": "padding", "value": "x" * 300}]),  # offloaded
        node("h", "Call", "http_request", 2, url=flaky.url),
        node("b", "After", "set", 3, fields=[{"name": "ok", "value": "{{ $json.body.ok }}"}]))
    original_id = run(api, owner, create_workflow(api, owner, definition), {"n": 1})
    original = detail(api, owner, original_id)
    assert original["status"] == "failed" and original["error"].startswith("node 'Call'")
    flaky.healthy = True
    response = api.post(f"{URL}/{original_id}/retry-from-failed", headers=owner.headers)
    assert response.status_code == 202
    retry = detail(api, owner, response.json()["execution_id"])
    assert retry["status"] == "succeeded" and retry["mode"] == "retry" and retry["retry_of_id"] == original_id
    before = {s["node_name"]: s for s in original["steps"]}
    after = {s["node_name"]: s for s in retry["steps"]}
    for name in ("Start", "Before"):  # replayed from the copies, not run again
        assert after[name]["started_at"] == before[name]["started_at"]
        assert after[name]["output"] == before[name]["output"]
    assert after["Before"]["output"]["main"][0]["json"]["padding"] == "x" * 300
    assert after["Call"]["status"] == "succeeded" and retry["output"][0]["json"]["ok"] is True
    assert flaky.hits == 2  # once per execution: the retry called the API once more, nothing else
    # The retry owns its copies of offloaded data: deleting the original does not break it.
    assert api.delete(f"{URL}/{original_id}", headers=owner.headers).status_code == 204
    assert detail(api, owner, retry["id"])["steps"][1]["output"] == after["Before"]["output"]


def test_a_succeeded_execution_has_no_failed_step_to_retry_from(api, api_user, inline_worker):
    owner = api_user("owner@example.com")
    execution_id = run(api, owner, create_workflow(api, owner))
    response = api.post(f"{URL}/{execution_id}/retry", params={"from_failed_step": True}, headers=owner.headers)
    assert response.status_code == 409 and "no failed step" in response.json()["error"]["message"]


def test_delete_removes_the_execution_its_steps_and_offloaded_data(api, api_user, inline_worker, configure):
    configure(STORAGE_INLINE_LIMIT_BYTES="10")
    owner = api_user("owner@example.com")
    execution_id = run(api, owner, create_workflow(api, owner))
    steps = detail(api, owner, execution_id)["steps"]
    assert steps[1]["output"]["main"][0]["json"]["doubled"] == 2  # read back from the offloaded file
    from backend.storage import keys
    from backend.storage.service import get_storage

    prefix = keys.execution_prefix(owner.team_id, execution_id)
    assert any(get_storage().list(prefix))
    assert api.delete(f"{URL}/{execution_id}", headers=owner.headers).status_code == 204
    assert api.get(f"{URL}/{execution_id}", headers=owner.headers).status_code == 404
    assert not any(get_storage().list(prefix))


def test_another_teams_execution_is_not_found_on_every_endpoint(api, api_user, held_queue):
    owner = api_user("owner@example.com")
    execution_id = run(api, owner, create_workflow(api, owner))
    stranger = api_user("stranger@example.com").headers
    for method, path in (("get", ""), ("post", "/cancel"), ("post", "/retry"), ("post", "/retry-from-failed"),
                         ("delete", "")):
        response = api.request(method, f"{URL}/{execution_id}{path}", headers=stranger)
        assert response.status_code == 404, (path, response.text)
    assert api.get(URL, headers=stranger).json()["total"] == 0
    assert detail(api, owner, execution_id)["status"] == "queued"


def test_a_viewer_reads_but_may_not_cancel_retry_or_delete(api, api_user, held_queue):
    owner = api_user("owner@example.com")
    execution_id = run(api, owner, create_workflow(api, owner))
    viewer = api_user("viewer@example.com", team_id=owner.team_id, role=Role.VIEWER)
    assert detail(api, viewer, execution_id)["status"] == "queued"
    for method, path in (("post", "/cancel"), ("post", "/retry"), ("post", "/retry-from-failed"), ("delete", "")):
        response = api.request(method, f"{URL}/{execution_id}{path}", headers=viewer.headers)
        assert response.status_code == 403, (path, response.text)
