"""Issue #11 part 3: a webhook answer cannot act as LinkFlow's own origin.

Every answer under /webhook, /webhook-test and /webhook-waiting (errors too) is sandboxed and
nosniff, whatever headers the workflow sets; cookies and origin-wide headers that could reach
the app are dropped; with LINKFLOW_HTTP_WEBHOOK_URL on its own host, webhooks and the app
answer only on their own hosts. The browser side is tests/e2e/test_webhook_origin.py.
"""

from __future__ import annotations

import pytest
from webhook_testkit import flow, hook, node

from backend.executions.links import signed_resume_url
from backend.webhooks.listeners import listen_for_test
from backend.webhooks.origin import cookie_allowed

PAGE = "<script>fetch('/api/v1/auth/me')</script>"


def respond(path: str, headers: dict[str, str], body: str = PAGE) -> dict:
    return flow(hook(path, respond="respond_node"),
                node("answer", "Answer", "respond_to_webhook", 1, body_type="text", body=body,
                     headers={"Content-Type": "text/html", **headers}))


def assert_sandboxed(response) -> None:
    assert response.headers.get_list("content-security-policy") == ["sandbox"]
    assert response.headers.get_list("x-content-type-options") == ["nosniff"]


def test_an_html_answer_is_sandboxed_and_keeps_no_app_cookie_or_origin_wide_header(api, deploy):
    deploy(respond("page", {
        "Set-Cookie": "lf_oauth_state=forged; Path=/",
        "Content-Security-Policy": "sandbox allow-scripts allow-same-origin",
        "X-Content-Type-Options": "sniff-please",
        "Clear-Site-Data": '"storage", "cookies"',
        "Strict-Transport-Security": "max-age=63072000; includeSubDomains",
        "NEL": '{"report_to": "loot", "max_age": 86400, "include_subdomains": true}',
        "Report-To": '{"group": "loot", "endpoints": [{"url": "https://collector.example"}]}',
        "X-Order": "kept",
    }))
    response = api.post("/webhook/page", json={})
    assert response.status_code == 200 and response.text == PAGE
    assert response.headers["content-type"] == "text/html"
    assert_sandboxed(response)
    assert response.headers["x-order"] == "kept"
    for name in ("set-cookie", "clear-site-data", "strict-transport-security", "nel", "report-to"):
        assert name not in response.headers, name
    assert "lf_oauth_state" not in api.cookies


@pytest.mark.parametrize(("set_cookie", "kept"), [
    ("theme=dark; Path=/webhook/page", True),
    ("theme=dark; Path=/webhook-test", True),
    ("theme=dark", False),  # the default path (/webhook) would do, but an explicit one is asked for
    ("theme=dark; Path=/", False),
    ("theme=dark; Path=/webhooks", False),
    ("theme=dark; Path=/webhook/page; Domain=example.com", False),
    ("lf_access=x; Path=/webhook/page", False),
    ("LF_team=x; Path=/webhook/page", False),
    ("backend-enabled=false; Path=/webhook/page", False),
    ("lf_oauth_state; Path=/webhook/page", False),  # nameless: a browser stores the value as the name
])
def test_which_cookies_a_webhook_may_set_on_the_apps_host(set_cookie, kept):
    assert cookie_allowed(set_cookie, shared_host=True) is kept


def test_on_a_host_of_its_own_a_webhook_may_set_cookies_for_any_path_but_not_the_apps(set_cookie="theme=dark"):
    assert cookie_allowed(f"{set_cookie}; Path=/", shared_host=False)
    assert not cookie_allowed(f"{set_cookie}; Path=/; Domain=example.com", shared_host=False)
    assert not cookie_allowed("lf_refresh=x; Path=/", shared_host=False)


def test_a_confined_cookie_reaches_the_caller(api, deploy):
    deploy(respond("page", {"Set-Cookie": "theme=dark; Path=/webhook/page"}))
    response = api.post("/webhook/page", json={})
    assert response.headers["set-cookie"] == "theme=dark; Path=/webhook/page"
    assert_sandboxed(response)


def test_errors_and_every_kind_of_webhook_url_are_sandboxed(api, deploy, team):
    deploy(flow(hook("guarded", auth="header", header_value="k")))
    answers = [
        api.get("/webhook/nothing/here"),  # 404
        api.post("/webhook/guarded", json={}),  # 401
        api.post("/webhook-test/nothing", json={}),  # 404: nobody listens
        api.post("/webhook-waiting/abc?signature=wrong", json={}),  # 401
        api.post("/webhook/guarded", headers={"X-API-Key": "k"}, json={}),  # 200
    ]
    assert [a.status_code for a in answers] == [404, 401, 404, 401, 200]
    for answer in answers:
        assert_sandboxed(answer)
    definition = respond("listened", {"Set-Cookie": "lf_team=other; Path=/"})
    listen_for_test("w" * 32, definition)
    test_answer = api.post("/webhook-test/listened", json={})
    assert "set-cookie" not in test_answer.headers
    assert_sandboxed(test_answer)


def test_the_apps_own_answers_are_not_sandboxed(api):
    response = api.get("/health")
    assert "content-security-policy" not in response.headers


@pytest.fixture
def split(configure):
    configure(HTTP_PUBLIC_URL="https://app.example.test", HTTP_WEBHOOK_URL="https://hooks.example.test/")


def test_with_a_webhook_host_each_host_answers_only_its_own_urls(split, api, deploy, api_user):
    deploy(respond("page", {"Set-Cookie": "theme=dark; Path=/"}, body="hello"))
    on_hooks = {"Host": "hooks.example.test"}
    answer = api.post("/webhook/page", json={}, headers=on_hooks)
    assert (answer.status_code, answer.text) == (200, "hello")
    assert answer.headers["set-cookie"] == "theme=dark; Path=/"  # this host serves nothing else
    assert_sandboxed(answer)
    owner = api_user("owner@example.com")
    for path in ("/api/v1/auth/me", "/health", "/", "/workflows"):
        refused = api.get(path, headers={**owner.headers, **on_hooks})
        assert refused.status_code == 404, path
        assert "answers webhook URLs only" in refused.json()["error"]["message"]
        assert_sandboxed(refused)
    on_app = api.post("/webhook/page", json={}, headers={"Host": "app.example.test"})
    assert on_app.status_code == 404
    assert on_app.json()["error"]["message"] == (
        "webhook URLs answer at https://hooks.example.test/webhook/page, not on this host")
    assert api.get("/api/v1/auth/me", headers={**owner.headers, "Host": "app.example.test:443"}).status_code == 200


def test_with_a_webhook_host_the_websocket_of_the_ui_is_refused_there(split, api):
    from starlette.websockets import WebSocketDisconnect

    with pytest.raises(WebSocketDisconnect) as refused, api.websocket_connect(
            "/_event", headers={"Host": "hooks.example.test"}):
        pass
    assert refused.value.code == 1008  # refused by the host check (no route would close with 1000)


def test_urls_handed_out_use_the_webhook_host(split):
    from ui.api_client import webhook_base_url

    assert signed_resume_url("e" * 32).startswith("https://hooks.example.test/webhook-waiting/" + "e" * 32)
    assert webhook_base_url() == "https://hooks.example.test"


def test_without_a_webhook_host_every_host_answers_everything(api, deploy):
    deploy(respond("page", {}, body="hello"))
    assert api.post("/webhook/page", json={}, headers={"Host": "anything.example.test"}).text == "hello"


def test_every_cookie_linkflow_sets_is_one_a_webhook_cannot_set():
    from backend.auth import oauth

    assert not cookie_allowed(f"{oauth.STATE_COOKIE}=forged; Path=/webhook/x", shared_host=True)
    assert not cookie_allowed(f"{oauth.STATE_COOKIE}=forged; Path=/", shared_host=False)
