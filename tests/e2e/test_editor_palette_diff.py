"""Issue #12: a palette click adds the node connected after the open one, Enter adds the first match;
the version diff shows old and new values and its Exit button is never covered by the node panel."""

import time

import httpx
from playwright.sync_api import expect

HOOK = {"nodes": [{"id": "hook", "name": "Hook", "type": "webhook", "position": [0, 0],
                   "parameters": {"path": "e2e-palette", "respond": "last_node"}}], "connections": []}


def _greeter(greeting: str) -> dict:
    return {"nodes": [{"id": "start", "name": "Start", "type": "manual_trigger", "position": [0, 0]},
                      {"id": "greet", "name": "Greet", "type": "set", "position": [300, 0],
                       "parameters": {"fields": [{"name": "greeting", "value": greeting}]}}],
            "connections": [{"from": "start", "to": "greet"}]}


def test_palette_click_connects_after_the_open_node_and_enter_adds_the_first_match(open_editor, account):
    editor = open_editor("Palette", HOOK)
    page = editor.page
    editor.open("Hook")
    page.get_by_role("button", name="Add Set", exact=True).click()
    expect(editor.node("Set")).to_be_visible()
    expect(page.get_by_test_id("panel-node-name")).to_have_text("Set")  # the new node is open
    expect(page.locator(".react-flow__edge")).to_have_count(1)

    page.get_by_label("Search nodes").fill("no operation")
    page.get_by_label("Search nodes").press("Enter")
    expect(editor.node("No Operation")).to_be_visible()
    expect(page.locator(".react-flow__edge")).to_have_count(2)
    editor.save()
    saved = editor.definition(account.api)
    ids = {n["name"]: n["id"] for n in saved["nodes"]}
    pairs = {(c["from"], c["to"]) for c in saved["connections"]}
    assert pairs == {(ids["Hook"], ids["Set"]), (ids["Set"], ids["No Operation"])}


def test_the_diff_shows_old_and_new_values_and_exit_stays_reachable(open_editor, account):
    editor = open_editor("Diffed", _greeter("hello"))
    account.api.patch(f"/workflows/{editor.workflow_id}", json={"definition": _greeter("bonjour")})
    page = editor.page
    page.reload()
    expect(editor.canvas).to_have_attribute("data-ready", "true")
    editor.open("Greet")
    page.get_by_role("button", name="Version history").click()
    page.get_by_role("dialog").get_by_role("button", name="Compare with version 1").click()
    change = page.get_by_test_id("diff-change").filter(has_text="parameters.fields")
    expect(change).to_contain_text('"hello"')
    expect(change).to_contain_text('"bonjour"')
    expect(editor.panel).to_have_count(0)  # the panel closed: it would cover the legend
    page.get_by_role("button", name="Exit diff view").click()
    expect(page.get_by_test_id("diff-legend")).to_have_count(0)


def test_auth_fields_appear_only_for_their_mode_and_options_show_labels(open_editor, account):
    editor = open_editor("Forms", HOOK)
    page = editor.page
    panel = editor.open("Hook")
    expect(panel.get_by_label("Username", exact=True)).to_have_count(0)
    expect(panel.get_by_label("Hmac secret", exact=True)).to_have_count(0)
    panel.get_by_label("Auth", exact=True).click()
    page.get_by_role("option", name="Basic auth (user and password)", exact=True).click()
    expect(panel.get_by_label("Username", exact=True)).to_be_visible()
    expect(panel.get_by_label("Password", exact=True)).to_be_visible()
    expect(panel.get_by_label("Hmac secret", exact=True)).to_have_count(0)
    panel.get_by_label("Respond", exact=True).click()
    page.get_by_role("option", name="When the last node finishes", exact=True).click()
    panel.get_by_label("Username", exact=True).fill("ada")
    panel.get_by_label("Password", exact=True).fill("a long password")
    editor.save()
    params = editor.definition(account.api)["nodes"][0]["parameters"]
    assert (params["auth"], params["respond"], params["username"]) == ("basic", "last_node", "ada")


LISTENED = {
    "nodes": [
        {"id": "hook", "name": "Hook", "type": "webhook", "position": [0, 0],
         "parameters": {"path": "e2e-captured", "respond": "last_node"}},
        {"id": "greet", "name": "Greet", "type": "set", "position": [300, 0],
         "parameters": {"fields": [{"name": "hi", "value": "{{ $json.body.name }}"}]}},
    ],
    "connections": [{"from": "hook", "to": "greet"}],
}


def test_run_this_node_after_a_test_event_uses_the_captured_event(open_editor):
    editor = open_editor("Captured", LISTENED)
    page = editor.page
    panel = editor.open("Hook")
    url = panel.get_by_test_id("test-url").inner_text()
    panel.get_by_role("button", name="Listen for test event").click()
    expect(panel.get_by_test_id("listening")).to_be_visible()
    deadline = time.monotonic() + 15
    while (response := httpx.post(url, json={"name": "Ada"}, timeout=30)).status_code == 404:
        assert time.monotonic() < deadline
        time.sleep(0.2)
    assert response.json()["hi"] == "Ada"
    expect(page.get_by_test_id("run-status")).to_have_text("Run succeeded", timeout=20_000)
    # A node added after the event: its preview and "Run this node" see the event, not {}.
    editor.open("Greet")
    page.get_by_role("button", name="Add No Operation", exact=True).click()
    expect(editor.node("No Operation")).to_be_visible()
    panel = editor.panel
    panel.get_by_role("button", name="Run this node").click()
    expect(page.get_by_test_id("run-status")).to_have_text("Run succeeded", timeout=20_000)
    panel.get_by_role("tab", name="Data").click()
    assert '"hi": "Ada"' in panel.get_by_test_id("node-output").inner_text()


def test_the_palette_groups_each_apps_nodes_and_triggers_under_its_name_and_icon(open_editor, account):
    editor = open_editor("Apps", HOOK)
    page = editor.page
    palette = page.get_by_role("region", name="Node palette")
    github = palette.get_by_role("group", name="GitHub", exact=True)
    expect(github.get_by_role("button", name="Add GitHub", exact=True)).to_be_visible()
    expect(github.get_by_role("button", name="Add GitHub Trigger", exact=True)).to_be_visible()
    expect(github.locator("svg").first).to_be_visible()  # the app's icon beside its name
    triggers = palette.get_by_role("group", name="Triggers", exact=True)
    expect(triggers.get_by_role("button", name="Add Webhook", exact=True)).to_be_visible()
    expect(triggers.get_by_role("button", name="Add GitHub Trigger", exact=True)).to_have_count(0)

    page.get_by_label("Search nodes").fill("rabbit")
    expect(palette.get_by_role("group")).to_have_count(1)
    expect(palette.get_by_role("group", name="RabbitMQ", exact=True).get_by_role("button")).to_have_count(2)
