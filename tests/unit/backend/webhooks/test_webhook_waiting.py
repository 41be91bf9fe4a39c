"""Wait nodes in webhook runs: parked, then resumed by the signed /webhook-waiting URL."""

from __future__ import annotations

from datetime import timedelta

import pytest
from webhook_testkit import executions, flow, hook, node

from backend.db.base import utcnow
from backend.webhooks.resume import resume_signature, signed_resume_url

WAIT_FOR_CALL = node("wait", "Wait", "wait", 1, mode="webhook")
AFTER = node("after", "After", "set", 2, keep_only_set=True, fields=[
    {"name": "order", "value": "{{ $json.body.order }}"},
    {"name": "approved", "value": "{{ $json.resume.body.approved }}"}])


@pytest.fixture
def parked(api, deploy) -> str:
    deploy(flow(hook("approve"), WAIT_FOR_CALL, AFTER))
    response = api.post("/webhook/approve", json={"order": 17})
    assert response.status_code == 202
    assert response.json()["status"] == "waiting"
    return response.json()["execution_id"]


def test_a_run_that_waits_is_saved_as_waiting(parked):
    [execution] = executions()
    assert (execution.id, execution.status, execution.mode, execution.resume_at) == (
        parked, "waiting", "webhook", None)


def test_the_signed_url_resumes_it_with_the_request_as_resume_data(api, parked):
    url = signed_resume_url(parked)
    assert url.endswith(f"/webhook-waiting/{parked}?signature={resume_signature(parked)}")
    response = api.post("/" + url.split("/", 3)[3], json={"approved": True})
    assert response.status_code == 202
    assert response.json() == {"execution_id": parked, "status": "running"}
    [execution] = executions()
    assert execution.status == "succeeded"
    assert execution.output == [{"json": {"order": 17, "approved": True}}]
    again = api.post(f"/webhook-waiting/{parked}?signature={resume_signature(parked)}", json={})
    assert again.status_code == 409


@pytest.mark.parametrize("query", ["", "?signature=", "?signature=0123abcd"], ids=["missing", "empty", "wrong"])
def test_a_bad_signature_is_refused_and_the_run_keeps_waiting(api, parked, query):
    response = api.post(f"/webhook-waiting/{parked}{query}", json={"approved": True})
    assert response.status_code == 401
    assert [e.status for e in executions()] == ["waiting"]


def test_a_signature_of_another_execution_does_not_fit(api, parked):
    response = api.post(f"/webhook-waiting/{parked}?signature={resume_signature('other')}", json={})
    assert response.status_code == 401


def test_an_unknown_execution_is_404(api):
    response = api.post(f"/webhook-waiting/nope?signature={resume_signature('nope')}", json={})
    assert response.status_code == 404


def test_a_timed_wait_is_saved_with_its_resume_time(api, deploy):
    wait = node("wait", "Wait", "wait", 1, mode="duration", amount=1, unit="hours")
    deploy(flow(hook("later"), wait, AFTER))
    response = api.post("/webhook/later", json={"order": 3})
    assert response.status_code == 202
    [execution] = executions()
    assert execution.status == "waiting"
    assert abs(execution.resume_at - (utcnow() + timedelta(hours=1))) < timedelta(minutes=1)
    signature = resume_signature(execution.id)
    # a timed wait is resumed by the clock, not by a call
    assert api.post(f"/webhook-waiting/{execution.id}?signature={signature}", json={}).status_code == 409


def test_the_workflow_gets_its_resume_url_as_execution_resume_url(api, deploy):
    link = node("link", "Link", "set", 1, fields=[{"name": "resume", "value": "{{ $execution.resume_url }}"}])
    deploy(flow(hook("ask"), link, WAIT_FOR_CALL, AFTER))
    response = api.post("/webhook/ask", json={"order": 5})
    assert response.status_code == 202 and response.json()["status"] == "waiting"
    execution_id = response.json()["execution_id"]
    step = api_step_output(execution_id, "Link")
    assert step["resume"] == signed_resume_url(execution_id)
    resumed = api.post("/" + step["resume"].split("/", 3)[3], json={"approved": False})
    assert resumed.status_code == 202
    [execution] = executions()
    assert execution.status == "succeeded" and execution.output == [{"json": {"order": 5, "approved": False}}]


def api_step_output(execution_id: str, node_name: str) -> dict:
    from sqlalchemy import select

    from backend.db.session import session_scope
    from backend.executions.models import ExecutionStep

    with session_scope() as session:
        step = session.scalars(select(ExecutionStep).where(ExecutionStep.execution_id == execution_id,
                                                          ExecutionStep.node_name == node_name)).one()
        return step.output["main"][0]["json"]
