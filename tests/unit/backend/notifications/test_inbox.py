"""/api/v1/notifications: the in-app inbox of a failed run, per user and team; marking read."""

from __future__ import annotations

from test_failure_notifications import deploy_failing_workflow, fail_once, relay_all

from backend.users.models import Role

URL = "/api/v1/notifications"


async def test_a_failed_run_lands_in_the_creators_inbox_and_can_be_marked_read(api, signup, bus):
    ada = signup("ada@example.com", name="Ada")
    deploy_failing_workflow(api, ada)
    first, second = fail_once(api), fail_once(api)
    await relay_all(bus)

    inbox = api.get(URL, headers=ada.headers).json()
    assert inbox["unread"] == 2
    assert [n["payload"]["execution_id"] for n in inbox["items"]] == [second, first]  # newest first
    item = inbox["items"][0]
    assert item["kind"] == "execution.failed" and "Orders" in item["subject"] and item["read_at"] is None

    marked = api.post(f"{URL}/read", json={"ids": [item["id"]]}, headers=ada.headers).json()
    assert marked == {"marked": 1}
    assert api.get(URL, headers=ada.headers).json()["unread"] == 1
    assert [n["id"] for n in api.get(URL, params={"unread_only": "true"}, headers=ada.headers).json()["items"]] \
        == [inbox["items"][1]["id"]]
    assert api.post(f"{URL}/read", json={}, headers=ada.headers).json() == {"marked": 1}
    assert api.get(URL, headers=ada.headers).json()["unread"] == 0


async def test_nobody_else_sees_or_marks_them(api, signup, bus, api_user):
    ada = signup("ada@example.com", name="Ada")
    deploy_failing_workflow(api, ada)
    fail_once(api)
    await relay_all(bus)
    [item] = api.get(URL, headers=ada.headers).json()["items"]
    teammate = api_user("bob@example.com", team_id=ada.team_id, role=Role.ADMIN)
    assert api.get(URL, headers=teammate.headers).json() == {"items": [], "unread": 0}
    assert api.post(f"{URL}/read", json={"ids": [item["id"]]}, headers=teammate.headers).json() == {"marked": 0}
    assert api.get(URL, headers=ada.headers).json()["unread"] == 1


def test_bad_input_is_a_422(api, api_user):
    user = api_user("ada@example.com")
    assert api.get(URL, params={"limit": 0}, headers=user.headers).status_code == 422
    assert api.post(f"{URL}/read", json={"ids": "all"}, headers=user.headers).status_code == 422
    assert api.post(f"{URL}/read", json={"everything": True}, headers=user.headers).status_code == 422
    assert api.get(URL).status_code == 401
