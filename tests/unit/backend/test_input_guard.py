"""JSON nested too deeply is a 422 on every /api/v1 operation, decided before anything parses it;
a document at the limit goes through, is stored, and reads back without a 500."""

from __future__ import annotations

import json
import re

import pytest

from backend.json_limits import MAX_JSON_DEPTH

TOO_DEEP = "the JSON body is nested 5,001 levels deep; at most 200 levels are accepted"
WORKFLOW = {"nodes": [{"id": "t", "name": "Start", "type": "manual_trigger", "position": [0, 0]},
                      {"id": "s", "name": "Keep", "type": "set", "position": [1, 0],
                       "parameters": {"fields": [{"name": "seen", "value": "{{ $json }}"}]}}],
            "connections": [{"from": "t", "to": "s"}]}


def nested(depth: int) -> str:
    """A JSON value of exactly ``depth`` levels (objects and lists in turn)."""
    text = "1"
    for level in range(depth):
        text = f'{{"a":{text}}}' if level % 2 else f"[{text}]"
    return text


def body_depth(text: str) -> int:
    from backend.json_limits import depth_over

    return depth_over(text, 0) or 0


def json_operations(api) -> list[tuple[str, str]]:
    spec = api.get("/api/v1/openapi.json").json()
    return sorted((method.upper(), re.sub(r"\{[^}]+\}", "x", path)) for path, operations in spec["paths"].items()
                  for method, operation in operations.items()
                  if "application/json" in (operation.get("requestBody") or {}).get("content", {}))


def test_every_operation_taking_json_refuses_a_deep_body_with_the_depth(api, api_user):
    user = api_user("owner@example.com")
    operations = json_operations(api)
    assert len(operations) >= 25  # the sweep is over the real API, not a hand-picked list
    body = '{"x": ' + nested(5_000) + "}"
    for method, path in operations:
        answer = api.request(method, path, content=body, headers={**user.headers, "Content-Type": "application/json"})
        assert answer.status_code == 422, (method, path, answer.text)
        assert answer.json()["error"] == {"code": "validation_error", "message": TOO_DEEP,
                                          "details": [{"loc": ["body"], "msg": TOO_DEEP}]}, (method, path)


def test_a_body_without_content_type_and_a_streamed_one_are_checked_too(api, api_user):
    user = api_user("owner@example.com")
    body = nested(5_001).encode()

    def chunks():
        for start in range(0, len(body), 1_000):
            yield body[start:start + 1_000]

    for content in (body, chunks()):
        answer = api.post("/api/v1/workflows", content=content, headers=user.headers)
        assert answer.status_code == 422 and answer.json()["error"]["message"].startswith(
            "the JSON body is nested 5,001 levels deep"), answer.text


# Each attack sits where the endpoint reads it; depth is that of the whole body.
FIELDS = {
    "definition": ("POST", "/api/v1/workflows", lambda v: {"name": "w", "definition": {**WORKFLOW, "extra": v}}),
    "pin_data": ("POST", "/api/v1/workflows",
                 lambda v: {"name": "w", "definition": {**WORKFLOW, "pin_data": {"Start": [{"json": {"v": v}}]}}}),
    "run input": ("POST", "/api/v1/workflows/{id}/run", lambda v: {"input": {"v": v}}),
    "draft diff": ("POST", "/api/v1/workflows/{id}/diff",
                   lambda v: {"from_version": 1, "definition": {**WORKFLOW, "settings": {"v": v}}}),
    "preview items": ("POST", "/api/v1/expressions/preview",
                      lambda v: {"expression": "{{ $json }}", "items": [{"json": {"v": v}}]}),
    "preview nodes": ("POST", "/api/v1/expressions/preview",
                      lambda v: {"expression": '{{ $node["A"].json }}', "nodes": {"A": [{"v": v}]}}),
    "variable": ("POST", "/api/v1/variables", lambda v: {"key": "K", "value": v}),
    "credential": ("POST", "/api/v1/credentials", lambda v: {"name": "c", "type": "http_header_auth", "data": v}),
}


def _send(api, user, workflow_id: str, field: str, inner_depth: int):
    method, path, build = FIELDS[field]
    body = json.dumps(build(json.loads(nested(inner_depth))))
    return body_depth(body), api.request(method, path.format(id=workflow_id), content=body,
                                         headers={**user.headers, "Content-Type": "application/json"})


@pytest.mark.parametrize("field", sorted(FIELDS))
def test_at_the_limit_an_endpoint_answers_and_one_level_more_is_refused(api, api_user, held_queue, field):
    user = api_user("owner@example.com")
    workflow_id = api.post("/api/v1/workflows", json={"name": "w", "definition": WORKFLOW},
                           headers=user.headers).json()["id"]
    inner = MAX_JSON_DEPTH - (body_depth(json.dumps(FIELDS[field][2](json.loads(nested(50))))) - 50)
    depth, at_limit = _send(api, user, workflow_id, field, inner)
    assert depth == MAX_JSON_DEPTH
    assert at_limit.status_code < 500, at_limit.text
    assert "nested" not in at_limit.text[:300] or at_limit.status_code != 422
    depth, over = _send(api, user, workflow_id, field, inner + 1)
    assert depth == MAX_JSON_DEPTH + 1
    assert over.status_code == 422
    assert over.json()["error"]["message"] == (f"the JSON body is nested {MAX_JSON_DEPTH + 1} levels deep; "
                                               f"at most {MAX_JSON_DEPTH} levels are accepted")


def test_data_at_the_limit_runs_is_stored_and_reads_back(api, api_user, inline_worker):
    user = api_user("owner@example.com")
    pinned = {**WORKFLOW, "pin_data": {"Keep": [{"json": {"v": json.loads(nested(193))}}]}}
    created = api.post("/api/v1/workflows", json={"name": "deep", "definition": pinned}, headers=user.headers)
    assert created.status_code == 201, created.text
    assert api.get(f"/api/v1/workflows/{created.json()['id']}", headers=user.headers).status_code == 200

    workflow_id = api.post("/api/v1/workflows", json={"name": "w", "definition": WORKFLOW},
                           headers=user.headers).json()["id"]
    _, started = _send(api, user, workflow_id, "run input", MAX_JSON_DEPTH - 2)
    assert started.status_code == 202, started.text
    execution = api.get(f"/api/v1/executions/{started.json()['execution_id']}", headers=user.headers)
    assert execution.status_code == 200, execution.text
    assert execution.json()["status"] == "succeeded", execution.json()["error"]
    assert execution.json()["output"][0]["json"]["seen"] == {"v": json.loads(nested(MAX_JSON_DEPTH - 2))}


def test_the_deepest_item_the_engine_accepts_reads_back_through_the_api(api, api_user):
    from datetime import UTC, datetime

    from executions_testkit import add_execution

    from backend.json_limits import MAX_ITEM_DEPTH, items_problem

    user = api_user("owner@example.com")
    deepest = [{"json": {"v": json.loads(nested(MAX_ITEM_DEPTH - 1))}}]
    assert items_problem(deepest) is None
    execution_id = add_execution(user.team_id, created_at=datetime.now(UTC), input_items=deepest,
                                 step_output={"main": deepest})
    answer = api.get(f"/api/v1/executions/{execution_id}", headers=user.headers)
    assert answer.status_code == 200, answer.text
    assert answer.json()["steps"][0]["output"] == {"main": deepest}
