"""Webhook requests built to hurt: bodies nested thousands of levels deep, thousands of query
parameters, form fields and headers. Each gets an answer (4xx with the reason, or the normal
one), never a 500, and a refused one starts nothing."""

from __future__ import annotations

import json

import pytest
from webhook_testkit import execution_count, executions, flow, hook, node

from backend.db.session import session_scope
from backend.json_limits import MAX_JSON_DEPTH
from backend.users.models import Membership, Role

KEEP = node("keep", "Keep", "set", 1, fields=[{"name": "body", "value": "{{ $json.body }}"}])


def nested(depth: int) -> str:
    return '{"a":' * (depth // 2) + "[" * (depth - depth // 2) + "]" * (depth - depth // 2) + "}" * (depth // 2)


@pytest.mark.parametrize("respond", ["immediately", "last_node"])
def test_a_body_nested_5000_levels_is_refused_before_it_is_parsed(api, deploy, respond):
    deploy(flow(hook("deep", respond=respond), KEEP))
    answer = api.post("/webhook/deep", content=nested(5_001), headers={"Content-Type": "application/json"})
    assert answer.status_code == 422, answer.text
    assert answer.json()["error"] == {"code": "validation_error", "details": None, "message": (
        "the JSON body is nested 5,001 levels deep; at most 200 levels are accepted")}
    assert execution_count() == 0


@pytest.mark.parametrize("respond", ["immediately", "last_node"])
def test_a_body_at_the_limit_runs_and_its_execution_reads_back(api, deploy, api_user, respond, inline_worker):
    user = api_user("reader@example.com")
    workflow_id = deploy(flow(hook("deep", respond=respond), KEEP))
    body = nested(MAX_JSON_DEPTH)
    answer = api.post("/webhook/deep", content=body, headers={"Content-Type": "application/json"})
    assert answer.status_code in (200, 202), answer.text
    [execution] = executions(workflow_id=workflow_id)
    assert execution.status == "succeeded", execution.error
    assert execution.output[0]["json"]["body"] == json.loads(body)
    with session_scope() as session:  # the reader joins the workflow's team to read the execution
        session.add(Membership(team_id=execution.team_id, user_id=user.user_id, role=Role.VIEWER))
    headers = {**user.headers, "X-Team-Id": execution.team_id}
    detail = api.get(f"/api/v1/executions/{execution.id}", headers=headers)
    assert detail.status_code == 200, detail.text


def test_one_level_over_the_limit_is_refused(api, deploy):
    deploy(flow(hook("deep"), KEEP))
    answer = api.post("/webhook/deep", content=nested(MAX_JSON_DEPTH + 1), headers={"Content-Type": "application/json"})
    assert answer.status_code == 422
    assert answer.json()["error"]["message"].startswith("the JSON body is nested 201 levels deep")


def test_thousands_of_query_parameters_and_headers_are_answered(api, deploy):
    deploy(flow(hook("many", method="GET")))
    repeated = "&".join(["tag=x"] * 3_000)  # as many as fit in a URL a client will send (64 KB)
    distinct = "&".join(f"k{i}={i}" for i in range(3_000))
    headers = {f"x-h{i}": str(i) for i in range(2_000)}
    answer = api.get(f"/webhook/many?{repeated}&{distinct}", headers=headers)
    assert answer.status_code == 200, answer.text
    item = answer.json()
    assert item["query"]["tag"] == ["x"] * 3_000 and item["query"]["k2999"] == "2999"
    assert item["headers"]["x-h1999"] == "1999"


def test_more_than_10000_query_parameters_or_form_fields_are_refused(api, deploy):
    deploy(flow(hook("many")))
    answer = api.post("/webhook/many?" + "&".join(["a=1"] * 10_001))
    assert answer.status_code == 422
    assert answer.json()["error"]["message"] == "the query string has 10,001 fields; at most 10,000 are accepted"
    form = api.post("/webhook/many", content="&".join(["a=1"] * 20_000),
                    headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert form.status_code == 422
    assert form.json()["error"]["message"].startswith("the form body has more than 10,000 fields")
    assert execution_count() == 0


def test_a_resume_call_with_a_deep_body_is_refused(api, deploy):
    from backend.executions.links import signed_resume_url

    url = signed_resume_url("no-such-execution").split("://", 1)[1].split("/", 1)[1]
    answer = api.post("/" + url, content=nested(5_001), headers={"Content-Type": "application/json"})
    assert answer.status_code == 422, answer.text
