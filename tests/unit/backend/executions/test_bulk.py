"""POST /api/v1/executions/bulk-delete and /bulk-retry: one outcome per id, team-scoped, editors only."""

from __future__ import annotations

from datetime import timedelta

from executions_testkit import add_execution
from test_executions_api import chain, create_workflow, detail, node, run

from backend.db.base import utcnow
from backend.db.session import session_scope
from backend.executions.models import Execution
from backend.users.models import Role

URL = "/api/v1/executions"


def exists(execution_id: str) -> bool:
    with session_scope() as session:
        return session.get(Execution, execution_id) is not None


def outcomes(body: dict) -> dict[str, tuple]:
    return {r["id"]: (r["outcome"], r["reason"], r["execution_id"]) for r in body["results"]}


def test_bulk_delete_reports_each_id_and_deletes_only_finished_ones_of_the_team(api, api_user):
    owner, stranger = api_user("owner@example.com"), api_user("stranger@example.com")
    now = utcnow()
    done = add_execution(owner.team_id, created_at=now)
    failed = add_execution(owner.team_id, status="failed", created_at=now, failed_node="Fetch")
    running = add_execution(owner.team_id, status="running", created_at=now)
    theirs = add_execution(stranger.team_id, created_at=now)
    ids = [done, failed, running, theirs, "0" * 32, done]
    response = api.post(f"{URL}/bulk-delete", json={"ids": ids}, headers=owner.headers)
    assert response.status_code == 200, response.text
    body = response.json()
    assert [r["id"] for r in body["results"]] == [done, failed, running, theirs, "0" * 32]  # duplicates once
    result = outcomes(body)
    assert result[done][0] == result[failed][0] == "deleted"
    assert result[running][0] == "skipped" and "cancel it before deleting" in result[running][1]
    assert result[theirs][0] == result["0" * 32][0] == "not_found"
    assert body["counts"] == {"deleted": 2, "skipped": 1, "not_found": 2}
    assert not exists(done) and not exists(failed) and exists(running) and exists(theirs)


def test_bulk_retry_starts_new_executions_and_skips_what_cannot_be_retried(api, api_user, inline_worker):
    owner = api_user("owner@example.com")
    failing = chain(node("t", "Start", "manual_trigger", 0),
                    node("s", "Stop", "stop_and_error", 1, message="bad {{ $json.n }}"))
    failed = run(api, owner, create_workflow(api, owner, failing), {"n": 3})
    succeeded = run(api, owner, create_workflow(api, owner), {"n": 2})
    queued = add_execution(owner.team_id, status="queued", created_at=utcnow())
    theirs = add_execution(api_user("stranger@example.com").team_id, status="failed", created_at=utcnow())
    response = api.post(f"{URL}/bulk-retry", json={"ids": [failed, succeeded, queued, theirs]},
                        headers=owner.headers)
    assert response.status_code == 200, response.text
    result = outcomes(response.json())
    assert result[failed][0] == result[succeeded][0] == "retried"
    assert result[queued][0] == "skipped" and "only finished executions" in result[queued][1]
    assert result[theirs] == ("not_found", f"execution {theirs} not found", None)
    again = detail(api, owner, result[succeeded][2])  # run by the inline worker after the commit
    assert again["retry_of_id"] == succeeded and again["mode"] == "retry" and again["status"] == "succeeded"
    assert detail(api, owner, result[failed][2])["error"] == "node 'Stop': bad 3"

    from_failed = api.post(f"{URL}/bulk-retry", json={"ids": [failed, succeeded], "from_failed_step": True},
                           headers=owner.headers).json()
    result = outcomes(from_failed)
    assert result[failed][0] == "retried"
    assert result[succeeded][0] == "skipped" and "no failed step" in result[succeeded][1]


def test_viewers_get_403_and_nothing_changes(api, api_user, held_queue):
    owner = api_user("owner@example.com")
    execution_id = add_execution(owner.team_id, status="failed", created_at=utcnow())
    viewer = api_user("viewer@example.com", team_id=owner.team_id, role=Role.VIEWER)
    for path in ("bulk-delete", "bulk-retry"):
        response = api.post(f"{URL}/{path}", json={"ids": [execution_id]}, headers=viewer.headers)
        assert response.status_code == 403, response.text
    assert exists(execution_id) and held_queue == []
    editor = api_user("editor@example.com", team_id=owner.team_id, role=Role.EDITOR)
    assert api.post(f"{URL}/bulk-delete", json={"ids": [execution_id]}, headers=editor.headers).status_code == 200
    assert not exists(execution_id)


def test_bulk_requests_need_one_to_500_ids(api, api_user):
    owner = api_user("owner@example.com")
    kept = add_execution(owner.team_id, created_at=utcnow() - timedelta(minutes=1))
    for body in ({"ids": []}, {"ids": [kept] * 501}, {}, {"ids": "abc"}, {"ids": [""]}, {"ids": ["x" * 65]}):
        for path in ("bulk-delete", "bulk-retry"):
            response = api.post(f"{URL}/{path}", json=body, headers=owner.headers)
            assert response.status_code == 422, (path, body, response.text)
    assert exists(kept)
    many = [kept] + [f"{i:032x}" for i in range(499)]
    response = api.post(f"{URL}/bulk-delete", json={"ids": many}, headers=owner.headers)
    assert response.status_code == 200 and response.json()["counts"] == {"deleted": 1, "not_found": 499}
