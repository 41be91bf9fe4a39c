"""Every gallery template passes the checks of saving with no warning; those needing no outside service run.

The runs go through the app as a user would use them: POST /templates/{id}/use, then a manual run with the
template's sample input (executions run inline, embedded mode on SQLite) or, for webhook templates, the
workflow is activated and its webhook called with the sample input as the body.
"""

from __future__ import annotations

import csv
import hashlib
import io

import pytest

from backend.templates import service
from backend.workflows.service import checked_definition, definition_warnings
from nodes.sdk import default_registry

TEMPLATES = sorted(service.gallery())
# Templates whose nodes reach no outside service (no credential, no HTTP call, no listener).
RUNNABLE = {"webhook-transform-respond", "webhook-validate-input", "webhook-route-by-type", "top-n-report",
            "dedupe-contacts", "merge-customers-orders", "json-to-csv-file", "xml-to-json", "markdown-to-html",
            "fingerprint-records", "format-due-dates"}
OUTSIDE = {"http_request", "slack", "s3", "postgres", "mysql", "send_email", "redis", "redis_trigger", "kafka",
           "kafka_trigger"}


def test_the_gallery_has_at_least_twenty_templates_in_several_categories():
    assert len(TEMPLATES) >= 20
    assert len(service.categories()) >= 6


@pytest.mark.parametrize("template_id", TEMPLATES)
def test_template_passes_the_checks_of_saving_without_warnings(template_id):
    workflow = service.get_template(template_id).workflow
    checked_definition(workflow)  # strict: raises InvalidDefinition listing every problem
    assert definition_warnings(workflow) == []
    assert all(not node.get("credentials") for node in workflow["nodes"]), "templates carry no credential"


def test_runnable_templates_are_exactly_those_needing_no_outside_service():
    needs_nothing = {t for t in TEMPLATES
                     if not {n["type"] for n in service.get_template(t).workflow["nodes"]} & OUTSIDE}
    assert needs_nothing == RUNNABLE
    assert all(service.get_template(t).sample_input for t in RUNNABLE)


def test_credential_slots_are_named_plainly():
    needs = service.credential_needs(service.get_template("csv-s3-to-postgres").workflow)
    assert [(n.node, n.slot, n.types) for n in needs] == [
        ("Download CSV", "aws", ["AWS S3"]), ("Insert rows", "postgres", ["PostgreSQL"])]


def _use(api, user, template_id: str) -> dict:
    response = api.post(f"/api/v1/templates/{template_id}/use", headers=user.headers)
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["workflow"]["warnings"] == []
    return body["workflow"]


def _webhook(api, user, workflow: dict, body: dict):
    assert api.post(f"/api/v1/workflows/{workflow['id']}/activate", headers=user.headers).status_code == 200
    path = next(n for n in workflow["definition"]["nodes"] if n["type"] == "webhook")["parameters"]["path"]
    return api.post(f"/webhook/{path}", json=body)


def _run(api, user, workflow: dict, data: dict | list) -> dict:
    response = api.post(f"/api/v1/workflows/{workflow['id']}/run", json={"input": data}, headers=user.headers)
    assert response.status_code == 202, response.text
    execution = api.get(f"/api/v1/executions/{response.json()['execution_id']}", headers=user.headers).json()
    assert execution["status"] == "succeeded", execution.get("error")
    return execution


def _items(execution: dict) -> list[dict]:
    return [item["json"] for item in execution["output"]]


@pytest.mark.parametrize("template_id", sorted(RUNNABLE))
def test_runnable_template_gives_the_expected_output_for_its_sample(api, api_user, inline_worker, template_id):
    user = api_user(f"{template_id}@example.com")
    template = service.get_template(template_id)
    workflow = _use(api, user, template_id)
    sample = template.sample_input
    if any(n["type"] == "webhook" for n in template.workflow["nodes"]):
        answer = _webhook(api, user, workflow, sample)
        CHECK_WEBHOOK[template_id](api, user, workflow, sample, answer)
    else:
        CHECK_RUN[template_id](api, user, sample, _run(api, user, workflow, sample))


def _transform(api, user, workflow, sample, answer):
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"email": "ada@example.com", "total": 13.5, "received": True}
    # text where a number belongs fails the run and says so, never "xxx" * 3
    bad = api.post(answer.request.url.path, json={**sample, "qty": "x"})
    assert bad.status_code == 500 and "xxx" not in bad.text


def _validate(api, user, workflow, sample, answer):
    assert answer.status_code == 200 and answer.json() == {"ok": True, "email": "ada@example.com"}
    refused = api.post(answer.request.url.path, json={"name": "no address"})
    assert refused.status_code == 400
    assert refused.json() == {"ok": False, "error": "the field 'email' is missing or is not an e-mail address"}


def _route(api, user, workflow, sample, answer):
    assert answer.status_code == 200 and answer.json() == {"route": "refunds", "id": 42}
    assert api.post(answer.request.url.path, json={"type": "order", "id": 1}).json() == {"route": "orders", "id": 1}
    assert api.post(answer.request.url.path, json={"type": "x", "id": 2}).json() == {"route": "unknown", "id": 2}


def _xml(api, user, workflow, sample, answer):
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"order": {"@id": "7", "item": "Tea", "qty": "2"}}


def _markdown(api, user, workflow, sample, answer):
    assert answer.status_code == 200, answer.text
    html = answer.json()["data"]
    assert "<h1>Hello</h1>" in html and "<strong>bold</strong>" in html
    escaped = api.post(answer.request.url.path, json={"markdown": "<script>alert(1)</script>"}).json()["data"]
    assert "<script>" not in escaped


CHECK_WEBHOOK = {"webhook-transform-respond": _transform, "webhook-validate-input": _validate,
                 "webhook-route-by-type": _route, "xml-to-json": _xml, "markdown-to-html": _markdown}


def _top(api, user, sample, execution):
    assert _items(execution) == [{"top": [{"id": 2, "total": 250}, {"id": 4, "total": 120},
                                          {"id": 3, "total": 90}]}]


def _dedupe(api, user, sample, execution):
    assert [(i["name"], i["email"]) for i in _items(execution)] == [("Ada", "ada@example.com"),
                                                                     ("Grace", "grace@example.com")]


def _merge(api, user, sample, execution):
    assert [(i["order"]["order"], i["customer"]["name"], i["customer"]["tier"]) for i in _items(execution)] == [
        ("A-1", "Ada", "gold"), ("A-2", "Grace", "silver"), ("A-3", "Ada", "gold")]


def _csv(api, user, sample, execution):
    [item] = execution["output"]
    ref = item["binary"]["data"]
    assert ref["file_name"] == "export.csv"
    link = api.post("/api/v1/storage/links", headers=user.headers, json={
        "execution_id": execution["id"], "id": ref["id"], "file_name": ref["file_name"], "mime_type": ref["mime_type"]})
    assert link.status_code == 200, link.text
    content = api.get(link.json()["url"])
    assert content.status_code == 200, content.text
    assert list(csv.DictReader(io.StringIO(content.text))) == [{"sku": "A1", "qty": "2"}, {"sku": "B7", "qty": "5"}]


def _fingerprint(api, user, sample, execution):
    assert [i["fingerprint"] for i in _items(execution)] == [
        hashlib.sha256(r["name"].encode()).hexdigest() for r in sample]


def _dates(api, user, sample, execution):
    assert [(i["title"], i["due_text"]) for i in _items(execution)] == [("Invoice", "05 Dec 2026"),
                                                                       ("Renewal", "31 Jan 2027")]


CHECK_RUN = {"top-n-report": _top, "dedupe-contacts": _dedupe, "merge-customers-orders": _merge,
             "json-to-csv-file": _csv, "fingerprint-records": _fingerprint, "format-due-dates": _dates}


def test_every_runnable_template_has_its_output_check():
    assert set(CHECK_WEBHOOK) | set(CHECK_RUN) == RUNNABLE
    assert all(default_registry().has(n["type"]) for t in TEMPLATES for n in service.get_template(t).workflow["nodes"])
