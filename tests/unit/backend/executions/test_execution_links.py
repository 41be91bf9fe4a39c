"""`$execution.resume_url` in queued runs: the signed link that resumes this execution's wait node."""

from __future__ import annotations

from backend.executions.links import signed_resume_url
from tests.unit.backend.executions.test_executions_api import chain, create_workflow, detail, node, run


def test_a_queued_run_sees_its_own_signed_resume_url(api, api_user, inline_worker, configure):
    configure(HTTP_PUBLIC_URL="https://flows.example.com")
    owner = api_user("owner@example.com")
    definition = chain(node("t", "Start", "manual_trigger", 0),
                       node("a", "Link", "set", 1, keep_only_set=True,
                            fields=[{"name": "url", "value": "{{ $execution.resume_url }}"}]))
    execution_id = run(api, owner, create_workflow(api, owner, definition))
    execution = detail(api, owner, execution_id)
    url = execution["output"][0]["json"]["url"]
    assert url == signed_resume_url(execution_id)
    assert url.startswith(f"https://flows.example.com/webhook-waiting/{execution_id}?signature=")
