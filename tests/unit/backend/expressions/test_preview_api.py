"""POST /api/v1/expressions/preview: values and errors from the engine's sandbox, bounded input, roles."""

from __future__ import annotations

import threading

import pytest

from backend.users.models import Role

URL = "/api/v1/expressions/preview"


def preview(api, user, expression: str, **body):
    return api.post(URL, json={"expression": expression, **body}, headers=user.headers)


def test_a_value_keeps_its_type_and_text_templates_render(api, api_user):
    user = api_user("owner@example.com")
    items = [{"json": {"n": 21, "name": "Ada"}}, {"n": 2, "name": "Bob"}]
    single = preview(api, user, "{{ $json.n * 2 }}", items=items).json()
    assert single == {"ok": True, "value": 42, "type": "int", "text": "42", "truncated": False, "error": None}
    text = preview(api, user, "Hi {{ $json.name }}!", items=items, item_index=1).json()
    assert (text["value"], text["type"]) == ("Hi Bob!", "str")
    nodes = preview(api, user, '{{ $node["Fetch"].json.id }}', nodes={"Fetch": [{"id": 7}]}).json()
    assert nodes["value"] == 7
    assert preview(api, user, "plain text").json()["value"] == "plain text"


def test_an_expression_error_is_an_answer_not_a_failure(api, api_user):
    user = api_user("owner@example.com")
    answer = preview(api, user, "{{ $json.missing.deeper }}", items=[{"a": 1}])
    assert answer.status_code == 200
    assert answer.json()["ok"] is False and answer.json()["error"]
    unclosed = preview(api, user, "{{ $json.a ").json()
    assert unclosed["ok"] is False and "never closed" in unclosed["error"]


@pytest.mark.parametrize("attempt", [
    "{{ ().__class__.__bases__[0].__subclasses__() }}",
    "{{ __import__('os').system('id') }}",
    "{{ open('/etc/passwd').read() }}",
    "{{ $json.__class__ }}",
    "{{ [x for x in range(10**9)] }}",
    "{{ 'a' * 10**9 }}",
])
def test_the_sandbox_still_holds(api, api_user, attempt):
    user = api_user("owner@example.com")
    answer = preview(api, user, attempt, items=[{"a": 1}])
    assert answer.status_code == 200, answer.text
    assert answer.json()["ok"] is False, answer.json()


def test_secret_variables_are_masked_and_plain_ones_shown(api, api_user):
    user = api_user("owner@example.com")
    for key, value, secret in (("region", "eu-west", False), ("token", "s3cr3t-value", True)):
        created = api.post("/api/v1/variables", json={"key": key, "value": value, "is_secret": secret},
                           headers=user.headers)
        assert created.status_code == 201, created.text
    answer = preview(api, user, "{{ $vars.region }} {{ $vars.token }}")
    assert answer.json()["value"] == "eu-west ********"
    assert "s3cr3t" not in answer.text


def test_bad_input_is_refused_with_422(api, api_user):
    user = api_user("owner@example.com")
    too_big = [{"text": "x" * 1000}] * 99 + [{"text": "x" * 500_000}]
    response = preview(api, user, "{{ 1 }}", items=too_big)
    assert response.status_code == 422
    assert "more than 512,000" in response.text
    assert preview(api, user, "{{ 1 }}", items=[{}] * 101).status_code == 422
    assert preview(api, user, "x" * 10_001).status_code == 422
    assert preview(api, user, "{{ 1 }}", item_index=-1).status_code == 422
    assert api.post(URL, json={}, headers=user.headers).status_code == 422


def test_roles_and_teams(api, api_user):
    owner = api_user("owner@example.com")
    workflow = api.post("/api/v1/workflows", json={"name": "Named", "definition": {}}, headers=owner.headers).json()
    viewer = api_user("viewer@example.com", team_id=owner.team_id, role=Role.VIEWER)
    answer = preview(api, viewer, "{{ $workflow.name }}", workflow_id=workflow["id"])
    assert answer.status_code == 200 and answer.json()["value"] == "Named"
    stranger = api_user("stranger@example.com")
    assert preview(api, stranger, "{{ 1 }}", workflow_id=workflow["id"]).status_code == 404
    assert api.post(URL, json={"expression": "{{ 1 }}"}).status_code == 401


DEEP_PARENS = "(" * 4_990 + "1" + ")" * 4_990
DEEP_LIST = "[" * 100 + "]" * 100
ATTACKS = [  # (expression, what the answer's error says); never a 500, never a crash
    ('{{ parse_json("[".repeat(900) + "]".repeat(900)) }}',
     "parse_json(): the JSON is nested 900 levels deep; at most 200 levels are accepted"),
    ("{{ parse_json('{\"a\": NaN}') }}", "NaN is not valid JSON"),
    ("{{ " + DEEP_PARENS + " }}", "nested too deeply (more than 50 levels)"),
    ("{{ " + DEEP_LIST + " }}", "nested too deeply (more than 50 levels)"),
    ("{{ 'a'.repeat(10**9) }}", "1,000,000,000 characters"),
    ("{{ 'a' * 10**9 }}", "multiplying needs numbers"),
    ("{{ range(10**9) }}", "range() is too long"),
    ("{{ range(10**18, 10**19) }}", "range() is too long"),
    ("{{ (-1) ** 0.5 }}", "(-1) ** 0.5 has no real result"),
    ("{{ float('nan') }}", "the result is NaN (not a number), which JSON cannot hold"),
    ("{{ 1e308 * 10 }}", "the result is Infinity, which JSON cannot hold"),
    ("{{ [1, float('-inf')] }}", "`[1]` in the result is -Infinity, which is not JSON"),
    ("{{ min(3, float('inf')) }}", None),  # infinity in between is fine
]


@pytest.mark.parametrize(("expression", "error"), ATTACKS, ids=[a[0][:40] for a in ATTACKS])
def test_expression_attacks_are_answered_not_500(api, api_user, expression, error):
    user = api_user("owner@example.com")
    answer = preview(api, user, expression)
    assert answer.status_code == 200, answer.text
    if error is None:
        assert answer.json()["ok"] is True and answer.json()["value"] == 3
    else:
        assert answer.json()["ok"] is False and error in answer.json()["error"], answer.json()


def test_an_expression_longer_than_the_limit_is_a_422(api, api_user):
    user = api_user("owner@example.com")
    answer = preview(api, user, "{{ " + "(" * 10_000 + "1" + ")" * 10_000 + " }}")
    assert answer.status_code == 422 and "10000 characters" in answer.text


def test_a_result_nested_deeper_than_items_may_be_is_an_answer(api, api_user):
    user = api_user("owner@example.com")
    deep = "[" * 195 + "]" * 195
    expression = "{{ " + "[" * 48 + "$json.v" + "]" * 48 + " }}"
    answer = preview(api, user, expression, items=[{"json": {"v": __import__("json").loads(deep)}}])
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"ok": False, "value": None, "type": None, "text": None, "truncated": False,
                             "error": "the result is nested more than 240 levels deep; make it flatter"}

def test_previews_run_off_the_request_loop_and_a_full_house_answers_503(api, api_user, monkeypatch):
    from backend.expressions import api as preview_api
    from backend.isolation import Lanes

    user = api_user("owner@example.com")
    lanes = Lanes(threads=1, concurrency=1, wait_s=0.05)
    monkeypatch.setattr(preview_api, "inline_lanes", lambda: lanes)
    threads = []
    evaluate = preview_api.preview
    monkeypatch.setattr(preview_api, "preview", lambda *a, **k: threads.append(
        threading.current_thread().name) or evaluate(*a, **k))
    assert preview(api, user, "{{ 6 * 7 }}").json()["value"] == 42
    assert threads == ["linkflow-inline-0"]

    lanes.gate.held = lanes.gate.limit  # every turn taken, as by long previews or webhook runs
    busy = preview(api, user, "{{ 6 * 7 }}")
    assert busy.status_code == 503 and busy.headers["retry-after"] == "2"
    assert busy.json()["error"]["code"] == "overloaded"
