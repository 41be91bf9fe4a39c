"""/api/v1/templates: who may list, read and use templates, and what using one creates (and where)."""

from __future__ import annotations

from backend.users.models import Role

URL = "/api/v1/templates"


def test_listing_needs_a_signed_in_member(api):
    assert api.get(URL).status_code == 401
    assert api.get(f"{URL}/webhook-transform-respond").status_code == 401
    assert api.post(f"{URL}/webhook-transform-respond/use").status_code == 401


def test_list_searches_and_filters_by_category(api, api_user):
    user = api_user("lister@example.com")
    page = api.get(URL, headers=user.headers).json()
    assert page["total"] == len(page["items"]) >= 20 and "Error handling" in page["categories"]
    slack = api.get(URL, params={"search": "SLACK alert"}, headers=user.headers).json()["items"]
    assert slack and all("slack" in (t["name"] + t["description"] + " ".join(t["tags"])).lower() for t in slack)
    events = api.get(URL, params={"category": "events"}, headers=user.headers).json()["items"]
    assert {t["id"] for t in events} == {"redis-trigger-to-http", "kafka-trigger-to-postgres", "webhook-to-kafka"}
    assert api.get(URL, params={"search": "no such words here"}, headers=user.headers).json()["total"] == 0


def test_a_template_shows_its_nodes_connections_and_the_credentials_to_pick(api, api_user):
    user = api_user("reader@example.com")
    template = api.get(f"{URL}/csv-s3-to-postgres", headers=user.headers).json()
    assert [n["name"] for n in template["nodes"]] == ["Start", "Download CSV", "Read CSV", "Insert rows"]
    assert {"from": "Read CSV", "output": "main", "to": "Insert rows"} in template["connections"]
    assert template["credentials"] == [
        {"node": "Download CSV", "slot": "aws", "types": ["AWS S3"]},
        {"node": "Insert rows", "slot": "postgres", "types": ["PostgreSQL"]}]


def test_unknown_or_malformed_ids_are_404_or_422_and_create_nothing(api, api_user):
    user = api_user("prober@example.com")
    for bad in ("nope", "..%2F..%2Fsecrets", "WEBHOOK-TRANSFORM-RESPOND"):
        response = api.get(f"{URL}/{bad}", headers=user.headers)
        assert response.status_code == 404, bad
        assert api.post(f"{URL}/{bad}/use", headers=user.headers).status_code == 404
    assert "GET /api/v1/templates lists them" in api.get(f"{URL}/nope", headers=user.headers).json()["error"]["message"]
    assert api.get(f"{URL}/{'a' * 81}", headers=user.headers).status_code == 422
    assert api.get("/api/v1/workflows", headers=user.headers).json()["total"] == 0


def test_using_a_template_creates_a_draft_in_the_callers_team_only(api, api_user):
    ada, grace = api_user("ada@example.com"), api_user("grace@example.com")
    response = api.post(f"{URL}/form-to-email/use", headers=ada.headers)
    assert response.status_code == 201, response.text
    body = response.json()
    workflow = body["workflow"]
    assert workflow["name"] == "Contact form → e-mail" and workflow["active"] is False
    assert workflow["warnings"] == [] and workflow["versions"] == [1]
    assert body["credentials"] == [{"node": "Mail the team", "slot": "smtp", "types": ["SMTP"]}]
    assert api.get(f"/api/v1/workflows/{workflow['id']}", headers=ada.headers).status_code == 200
    assert api.get(f"/api/v1/workflows/{workflow['id']}", headers=grace.headers).status_code == 404
    assert api.get("/api/v1/workflows", headers=grace.headers).json()["total"] == 0


def test_another_teams_id_in_the_team_header_creates_nothing_there(api, api_user):
    ada, grace = api_user("ada@example.com"), api_user("grace@example.com")
    intruder = {**ada.headers, "X-Team-Id": grace.team_id}
    response = api.post(f"{URL}/top-n-report/use", headers=intruder)
    assert response.status_code in (403, 404)
    assert api.get(URL, headers=intruder).status_code in (403, 404)
    assert api.get("/api/v1/workflows", headers=grace.headers).json()["total"] == 0


def test_viewers_read_templates_but_cannot_create_from_them(api, api_user):
    owner = api_user("owner@example.com")
    viewer = api_user("viewer@example.com", team_id=owner.team_id, role=Role.VIEWER)
    assert api.get(URL, headers=viewer.headers).status_code == 200
    response = api.post(f"{URL}/top-n-report/use", headers=viewer.headers)
    assert response.status_code == 403
    assert api.get("/api/v1/workflows", headers=owner.headers).json()["total"] == 0


def test_each_use_gets_webhook_paths_of_its_own(api, api_user):
    ada, grace = api_user("ada@example.com"), api_user("grace@example.com")
    paths = []
    for user in (ada, grace, ada):
        workflow = api.post(f"{URL}/webhook-transform-respond/use", headers=user.headers).json()["workflow"]
        [hook] = [n for n in workflow["definition"]["nodes"] if n["type"] == "webhook"]
        paths.append(hook["parameters"]["path"])
        assert api.post(f"/api/v1/workflows/{workflow['id']}/activate", headers=user.headers).status_code == 200
    assert len(set(paths)) == 3 and all(p.startswith("orders-") for p in paths)


def test_bad_bodies_are_refused_and_create_nothing(api, api_user):
    user = api_user("fuzzer@example.com")
    use = f"{URL}/top-n-report/use"
    deep: dict = {}
    for _ in range(300):
        deep = {"a": deep}
    for body in ({"name": "x" * 201}, {"name": ""}, {"name": "ok", "definition": {}}, {"name": deep}, [1, 2]):
        response = api.post(use, json=body, headers=user.headers)
        assert response.status_code == 422, (str(body)[:60], response.text)
    huge = api.post(use, content=b'{"name": "' + b"x" * 5_000_000 + b'"}',
                    headers={**user.headers, "Content-Type": "application/json"})
    assert huge.status_code in (413, 422)
    assert api.get("/api/v1/workflows", headers=user.headers).json()["total"] == 0
    named = api.post(use, json={"name": "My top orders"}, headers=user.headers)
    assert named.status_code == 201 and named.json()["workflow"]["name"] == "My top orders"
