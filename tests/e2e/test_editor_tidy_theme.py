"""Issue #12: "Tidy up" lays the workflow out by its connections; a dark theme with a toggle."""

import re

from playwright.sync_api import expect

MESSY = {
    "nodes": [
        {"id": "start", "name": "Start", "type": "manual_trigger", "position": [900, 700]},
        {"id": "mark", "name": "Mark", "type": "set", "position": [-400, 50],
         "parameters": {"fields": [{"name": "seen", "value": True}]}},
        {"id": "pass", "name": "Pass", "type": "noop", "position": [100, -300]},
    ],
    "connections": [{"from": "start", "to": "mark"}, {"from": "mark", "to": "pass"}],
}


def test_tidy_up_orders_the_nodes_by_their_connections(open_editor, account):
    editor = open_editor("Messy", MESSY)
    editor.page.get_by_role("button", name="Tidy up (auto-layout)").click()
    expect(editor.page.get_by_test_id("unsaved")).to_be_visible()
    boxes = [editor.node(name).bounding_box() for name in ("Start", "Mark", "Pass")]
    assert boxes[0]["x"] < boxes[1]["x"] < boxes[2]["x"]
    assert abs(boxes[0]["y"] - boxes[2]["y"]) < 2
    editor.save()
    positions = {n["name"]: n["position"] for n in editor.definition(account.api)["nodes"]}
    assert positions == {"Start": [0, 0], "Mark": [280, 0], "Pass": [560, 0]}


def test_dark_theme_follows_the_browser_and_the_toggle_switches_it(open_editor):
    editor = open_editor("Themed", MESSY)
    page = editor.page
    html = page.locator("html")
    page.emulate_media(color_scheme="dark")
    page.reload()
    expect(html).to_have_class(re.compile(r"\bdark\b"))
    page.get_by_role("button", name="Toggle dark mode").click()
    expect(html).to_have_class(re.compile(r"\blight\b"))
    page.reload()
    expect(html).to_have_class(re.compile(r"\blight\b"))  # the choice is remembered
    page.get_by_role("button", name="Toggle dark mode").click()
    expect(html).to_have_class(re.compile(r"\bdark\b"))


def test_a_styled_404_page_a_favicon_and_node_cards_without_a_repeated_type(open_editor, base_url):
    import httpx

    editor = open_editor("Cards", MESSY)
    page = editor.page
    expect(editor.node("Mark").locator(".lf-node-type")).to_have_text("Set")  # the name differs: the type helps
    expect(editor.node("Start").locator(".lf-node-type")).to_have_text("Manual Trigger")
    page.get_by_role("button", name="Add No Operation", exact=True).click()
    expect(editor.node("No Operation")).to_be_visible()
    expect(editor.node("No Operation").locator(".lf-node-type")).to_have_count(0)  # would repeat the name
    icon = page.locator('link[rel="icon"]')
    expect(icon).to_have_attribute("href", "/favicon.svg")
    assert httpx.get(base_url + "/favicon.svg", timeout=10).status_code == 200
    page.goto(base_url + "/no/such/page")
    expect(page.get_by_role("heading", name="Page not found")).to_be_visible()
    page.get_by_role("button", name="Back to workflows").click()
    expect(page).to_have_url(re.compile(r"/workflows$"))
