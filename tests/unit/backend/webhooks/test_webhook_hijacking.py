"""Issue #11 part 2, replayed over HTTP: team B must not take team A's webhook URLs.

Team A activates ``GET orders/:id``. Team B then tries the exact path ``orders/42`` and the
patterns ``orders/:x`` and ``:a/:b`` (and the other way round), production and test URLs.
B is refused with a 409 that tells B nothing about A (no workflow name or id, no team, not
A's path), and A's callers, query strings included, keep reaching A.
"""

from __future__ import annotations

import pytest
from webhook_testkit import Listening, executions, flow, hook, node

from backend.db.session import session_scope
from backend.users.models import Team
from backend.webhooks import listeners

A_NAME, B_NAME = "Shop orders of team A", "Hijack of team B"
URL = "/api/v1/workflows"


def served_by(team: str, path: str) -> dict:
    return flow(hook(path, method="GET", respond="last_node"),
                node("mark", "Mark", "set", 1, fields=[{"name": "served_by", "value": team}]))


def create(api, user, name: str, definition: dict) -> str:
    response = api.post(URL, json={"name": name, "definition": definition}, headers=user.headers)
    assert response.status_code == 201, response.text
    return response.json()["id"]


def activate(api, user, workflow_id: str):
    return api.post(f"{URL}/{workflow_id}/activate", headers=user.headers)


@pytest.fixture
def teams(api, api_user):
    return api_user("a@example.com"), api_user("b@example.com")


@pytest.fixture
def listen(api):
    """listen(user, workflow_id, path) starts the editor's long-poll and waits until it listens."""
    started: list[Listening] = []

    def start(user, workflow_id: str, path: str) -> Listening:
        started.append(Listening(api, user, workflow_id, timeout_s=10))
        started[-1].start()
        started[-1].wait_armed(path, method="GET")
        return started[-1]

    yield start
    listeners.stop_listening_all()  # a failed test must not leave a long-poll open behind the client
    for thread in started:
        thread.join(timeout=10)


def secrets_of(user, workflow_id: str) -> list[str]:
    """What B's refusal must not contain about A (A's path too, unless B asked for that very text)."""
    with session_scope() as session:
        team = session.get(Team, user.team_id)
        return [A_NAME, workflow_id, user.team_id, team.name, team.slug, "a@example.com"]


def assert_refused_blind(response, a_user, a_workflow: str, b_path: str = "") -> None:
    assert response.status_code == 409, response.text
    for secret in [*secrets_of(a_user, a_workflow), *(["orders/:id"] if b_path != "orders/:id" else [])]:
        assert secret not in response.text, f"the refusal leaks {secret!r}: {response.text}"
    assert "another workflow" in response.json()["error"]["message"]


def assert_a_still_answers(api, a_workflow: str) -> None:
    response = api.get("/webhook/orders/42?token=for-a-only")
    assert response.status_code == 200, response.text
    assert response.json()["served_by"] == "A"
    assert response.json()["query"] == {"token": "for-a-only"}
    assert response.json()["params"] == {"id": "42"}
    assert {e.workflow_id for e in executions(mode="webhook")} == {a_workflow}


@pytest.mark.parametrize("b_path", ["orders/42", "orders/:x", ":a/:b"])
def test_b_cannot_activate_a_path_overlapping_as(api, teams, b_path):
    a_user, b_user = teams
    a_workflow = create(api, a_user, A_NAME, served_by("A", "orders/:id"))
    assert activate(api, a_user, a_workflow).status_code == 200
    b_workflow = create(api, b_user, B_NAME, served_by("B", b_path))
    assert_refused_blind(activate(api, b_user, b_workflow), a_user, a_workflow, b_path)
    assert_a_still_answers(api, a_workflow)


@pytest.mark.parametrize("b_path", ["orders/42", "orders/:x"])
def test_a_path_b_took_first_is_refused_to_a_without_naming_b(api, teams, b_path):
    a_user, b_user = teams
    b_workflow = create(api, b_user, B_NAME, served_by("B", b_path))
    assert activate(api, b_user, b_workflow).status_code == 200
    a_workflow = create(api, a_user, A_NAME, served_by("A", "orders/:id"))
    refused = activate(api, a_user, a_workflow)
    assert refused.status_code == 409
    assert B_NAME not in refused.text and b_workflow not in refused.text and b_user.team_id not in refused.text
    assert api.get(f"{URL}/{a_workflow}", headers=a_user.headers).json()["active"] is False
    assert api.get("/webhook/orders/42").json()["served_by"] == "B"  # B keeps what it took first


def test_a_pattern_starting_with_a_parameter_is_refused_even_first(api, teams):
    a_user, b_user = teams
    b_workflow = create(api, b_user, B_NAME, served_by("B", ":a/:b"))
    refused = activate(api, b_user, b_workflow)
    assert refused.status_code == 422
    assert "starts with a path parameter" in refused.json()["error"]["message"]
    a_workflow = create(api, a_user, A_NAME, served_by("A", "orders/:id"))
    assert activate(api, a_user, a_workflow).status_code == 200
    assert_a_still_answers(api, a_workflow)


def test_b_cannot_listen_on_a_test_url_overlapping_as_production_path(api, teams):
    a_user, b_user = teams
    a_workflow = create(api, a_user, A_NAME, served_by("A", "orders/:id"))
    assert activate(api, a_user, a_workflow).status_code == 200
    b_workflow = create(api, b_user, B_NAME, served_by("B", "orders/42"))
    refused = api.post(f"{URL}/{b_workflow}/test-event", json={"timeout_s": 1}, headers=b_user.headers)
    assert_refused_blind(refused, a_user, a_workflow)
    assert api.get("/webhook-test/orders/42").status_code == 404  # nobody listens


@pytest.mark.parametrize("b_path", ["orders/:id", "orders/42", "orders/:x"])
def test_a_test_listener_is_bound_to_its_workflow(api, teams, listen, b_path):
    a_user, b_user = teams
    a_workflow = create(api, a_user, A_NAME, served_by("A", "orders/:id"))
    b_workflow = create(api, b_user, B_NAME, served_by("B", b_path))
    listening = listen(a_user, a_workflow, "orders/42")
    refused = api.post(f"{URL}/{b_workflow}/test-event", json={"timeout_s": 1}, headers=b_user.headers)
    assert_refused_blind(refused, a_user, a_workflow, b_path)
    answer = api.get("/webhook-test/orders/42?token=for-a-only")
    assert answer.json()["served_by"] == "A" and answer.json()["query"] == {"token": "for-a-only"}
    assert listening.result()["status"] == "received"
    assert {e.workflow_id for e in executions(mode="test")} == {a_workflow}


def test_a_listener_b_started_first_keeps_a_out_without_naming_b(api, teams, listen):
    a_user, b_user = teams
    b_workflow = create(api, b_user, B_NAME, served_by("B", "orders/:x"))
    a_workflow = create(api, a_user, A_NAME, served_by("A", "orders/:id"))
    listening = listen(b_user, b_workflow, "orders/42")
    refused = api.post(f"{URL}/{a_workflow}/test-event", json={"timeout_s": 1}, headers=a_user.headers)
    assert refused.status_code == 409
    assert B_NAME not in refused.text and b_workflow not in refused.text and "orders/:x" not in refused.text
    assert api.get("/webhook-test/orders/7").json()["served_by"] == "B"  # exactly one listener: B's
    assert listening.result()["status"] == "received"


def test_within_one_team_the_refusal_names_the_workflow(api, api_user):
    owner = api_user("a@example.com")
    first = create(api, owner, A_NAME, served_by("A", "orders/:id"))
    assert activate(api, owner, first).status_code == 200
    second = create(api, owner, "Second", served_by("A", "orders/42"))
    refused = activate(api, owner, second)
    assert refused.status_code == 409
    assert refused.json()["error"]["details"]["workflow_id"] == first
    assert f"'{A_NAME}'" in refused.json()["error"]["message"]


def test_a_webhook_node_saved_without_a_path_gets_a_random_one(api, teams):
    a_user, _ = teams
    definition = served_by("A", "x")
    del definition["nodes"][0]["parameters"]["path"]
    workflow_id = create(api, a_user, A_NAME, definition)
    saved = api.get(f"{URL}/{workflow_id}", headers=a_user.headers).json()["definition"]
    path = saved["nodes"][0]["parameters"]["path"]
    assert len(path) == 32 and int(path, 16) >= 0
    assert activate(api, a_user, workflow_id).status_code == 200
    assert api.get(f"/webhook/{path}").json()["served_by"] == "A"
