"""GET /api/v1/executions: search in execution data (q), the mode filter and their bounds."""

from __future__ import annotations

from datetime import timedelta

from executions_testkit import add_execution
from test_executions_api import SIMPLE, chain, create_workflow, node, run

from backend.db.base import utcnow

URL = "/api/v1/executions"


def found(api, user, **params) -> set[str]:
    response = api.get(URL, params=params, headers=user.headers)
    assert response.status_code == 200, response.text
    return {item["id"] for item in response.json()["items"]}


def test_search_finds_trigger_data_and_step_outputs_case_insensitively(api, api_user, inline_worker):
    owner = api_user("owner@example.com")
    workflow_id = create_workflow(api, owner)
    acme = run(api, owner, workflow_id, {"n": 21, "customer": "ACME Corp"})
    other = run(api, owner, workflow_id, {"n": 5, "customer": "Globex"})
    assert found(api, owner, q="acme corp") == {acme}
    assert found(api, owner, q="GLOBEX") == {other}
    assert found(api, owner, q="42") == {acme}  # only in the Set node's output (doubled 21)
    assert found(api, owner, q="doubled") == {acme, other}
    assert found(api, owner, q="nobody has this") == set()
    assert found(api, owner, q="acme", status="failed") == set()  # filters combine
    page = api.get(URL, params={"q": "acme"}, headers=owner.headers).json()
    assert page["total"] == 1 and page["items"][0]["workflow_name"] == "wf"
    assert api.get(f"{URL}/{acme}", headers=owner.headers).json()["workflow_name"] == "wf"
    api.delete(f"/api/v1/workflows/{workflow_id}", headers=owner.headers)
    assert api.get(URL, params={"q": "acme"}, headers=owner.headers).json()["items"][0]["workflow_name"] is None


def test_search_treats_like_wildcards_quotes_and_accents_literally(api, api_user, inline_worker):
    owner = api_user("owner@example.com")
    workflow_id = create_workflow(api, owner)
    percent = run(api, owner, workflow_id, {"n": 1, "deal": "50% off", "code": "A_B"})
    plain = run(api, owner, workflow_id, {"n": 1, "deal": "500 off", "code": "AxB"})
    quoted = run(api, owner, workflow_id, {"n": 1, "note": 'say "hi"', "city": "Zürich"})
    assert found(api, owner, q="50%") == {percent}
    assert found(api, owner, q="a_b") == {percent}
    assert found(api, owner, q="500") == {plain}
    assert found(api, owner, q='"hi"') == {quoted}
    assert found(api, owner, q="Zürich") == {quoted}
    assert found(api, owner, q="%") == {percent}


def test_search_finds_error_messages_and_never_another_teams_data(api, api_user, inline_worker):
    owner = api_user("owner@example.com")
    failing = chain(node("t", "Start", "manual_trigger", 0),
                    node("s", "Stop", "stop_and_error", 1, message="order {{ $json.n }} is invalid"))
    failed = run(api, owner, create_workflow(api, owner, failing), {"n": 77})
    assert found(api, owner, q="order 77 is invalid") == {failed}
    stranger = api_user("stranger@example.com")
    run(api, stranger, create_workflow(api, stranger, SIMPLE), {"n": 77, "secret": "theirs"})
    assert found(api, owner, q="theirs") == set()
    assert found(api, stranger, q="order 77") == set()


def test_mode_filter_and_search_bounds(api, api_user):
    owner = api_user("owner@example.com")
    now = utcnow()
    manual = add_execution(owner.team_id, mode="manual", created_at=now - timedelta(minutes=2))
    hook = add_execution(owner.team_id, mode="webhook", created_at=now - timedelta(minutes=1))
    retry = add_execution(owner.team_id, mode="retry", created_at=now)
    assert found(api, owner, mode="webhook") == {hook}
    assert found(api, owner, mode="retry") == {retry}
    assert found(api, owner, mode="manual") == {manual}
    assert found(api, owner, mode="schedule") == set()
    for params in ({"mode": "someday"}, {"q": "x" * 201}, {"q": ""}):
        response = api.get(URL, params=params, headers=owner.headers)
        assert response.status_code == 422, (params, response.text)
    assert api.get(URL, params={"q": "x" * 200}, headers=owner.headers).status_code == 200


def test_time_range_keeps_newest_first_and_pages(api, api_user):
    owner = api_user("owner@example.com")
    now = utcnow()
    ids = [add_execution(owner.team_id, created_at=now - timedelta(hours=h)) for h in (30, 5, 2, 1)]
    recent = api.get(URL, params={"started_after": (now - timedelta(hours=24)).isoformat(), "limit": 2},
                     headers=owner.headers).json()
    assert recent["total"] == 3 and [i["id"] for i in recent["items"]] == [ids[3], ids[2]]
    older = api.get(URL, params={"started_before": (now - timedelta(hours=3)).isoformat()},
                    headers=owner.headers).json()
    assert [i["id"] for i in older["items"]] == [ids[1], ids[0]]
