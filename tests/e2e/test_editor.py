"""The visual editor, driven like a person would: palette drags, handle drags, the node panel, the keyboard."""

import json
import time

import httpx
from playwright.sync_api import Page, expect

TRIGGER_AND_SET = {
    "nodes": [
        {"id": "start", "name": "Start", "type": "manual_trigger", "position": [0, 0]},
        {"id": "mark", "name": "Mark", "type": "set", "position": [300, 0],
         "parameters": {"fields": [{"name": "seen", "value": True}]}},
    ],
    "connections": [{"from": "start", "to": "mark"}],
}


def _fill_field(panel, collection: str, sub: str, value: str, row: int = 1):
    panel.get_by_label(f"{collection} {row} {sub}").fill(value)


def _choose(page: Page, panel, label: str, option: str):
    panel.get_by_label(label, exact=True).click()
    page.get_by_role("option", name=option, exact=True).click()


def test_build_run_and_serve_a_workflow(open_editor, account):
    editor = open_editor("Doubler")
    page = editor.page
    editor.drop("Webhook", 80, 300)
    editor.drop("Set", 360, 300)
    editor.drop("If", 640, 300)
    editor.drop("Set", 920, 160, expect_name="Set 2")
    editor.drop("Set", 920, 460, expect_name="Set 3")
    editor.connect("Webhook", "main", "Set")
    editor.connect("Set", "main", "If")
    editor.connect("If", "true", "Set 2")
    editor.connect("If", "false", "Set 3")
    expect(page.locator(".react-flow__edge")).to_have_count(4)
    expect(page.get_by_test_id("unsaved")).to_be_visible()

    panel = editor.open("Webhook")
    _choose(page, panel, "Respond", "When the last node finishes")  # the label; "last_node" is stored
    panel = editor.open("Set")
    panel.get_by_role("button", name="Add to Fields").click()
    _fill_field(panel, "Fields", "Name", "doubled")
    _fill_field(panel, "Fields", "Value", "{{ $json.body.n * 2 }}")
    panel = editor.open("If")
    panel.get_by_role("button", name="Add to Conditions").click()
    _fill_field(panel, "Conditions", "Left", "{{ $json.doubled }}")
    _choose(page, panel, "Conditions 1 Operation", "gt")
    _fill_field(panel, "Conditions", "Right", "10")
    for name, size in (("Set 2", "big"), ("Set 3", "small")):
        panel = editor.open(name)
        panel.get_by_role("button", name="Add to Fields").click()
        _fill_field(panel, "Fields", "Name", "size")
        _fill_field(panel, "Fields", "Value", size)
    editor.save()

    saved = editor.definition(account.api)
    by_name = {n["name"]: n for n in saved["nodes"]}
    assert by_name["Set"]["parameters"]["fields"] == [{"name": "doubled", "value": "{{ $json.body.n * 2 }}"}]
    assert by_name["If"]["parameters"]["conditions"][0]["operation"] == "gt"
    assert len(saved["connections"]) == 4

    # A manual run of a webhook-triggered workflow runs with the test input as the request.
    page.get_by_role("button", name="Test input").click()
    page.get_by_label("Test input JSON").fill(json.dumps({"body": {"n": 21}}))
    page.get_by_role("button", name="Run with this input").click()
    expect(page.get_by_test_id("run-status")).to_have_text("Run succeeded", timeout=20_000)
    for name in ("Webhook", "Set", "If", "Set 2"):
        expect(editor.node(name).get_by_test_id("flow-node")).to_have_attribute("data-run-status", "succeeded")
    expect(editor.node("Set 2").get_by_test_id("run-badge")).to_have_text("✓ 1 item")
    panel = editor.open("Set 2")
    panel.get_by_role("tab", name="Data").click()
    output = json.loads(panel.get_by_test_id("node-output").inner_text())
    assert output == [{"json": {"body": {"n": 21}, "doubled": 42, "size": "big"}}]

    # Activate: the panel shows the webhook's production and test URLs.
    page.get_by_role("switch", name="Active").click()
    expect(page.get_by_text("Workflow is active: its triggers are live")).to_be_visible()
    panel = editor.open("Webhook")
    panel.get_by_role("tab", name="Parameters").click()
    path = by_name["Webhook"]["parameters"]["path"]
    base = page.url.split("/workflows/")[0]
    expect(panel.get_by_test_id("production-url")).to_have_text(f"{base}/webhook/{path}")
    expect(panel.get_by_test_id("test-url")).to_have_text(f"{base}/webhook-test/{path}")
    assert account.api.get(f"/workflows/{editor.workflow_id}").json()["active"] is True
    page.get_by_role("switch", name="Active").click()
    expect(page.get_by_text("Workflow deactivated")).to_be_visible()
    assert account.api.get(f"/workflows/{editor.workflow_id}").json()["active"] is False


HOOK_DOUBLER = {
    "nodes": [
        {"id": "hook", "name": "Hook", "type": "webhook", "position": [0, 0],
         "parameters": {"path": "e2e-doubler", "respond": "last_node"}},
        {"id": "double", "name": "Double", "type": "set", "position": [300, 0],
         "parameters": {"fields": [{"name": "doubled", "value": "{{ $json.body.n * 2 }}"}]}},
    ],
    "connections": [{"from": "hook", "to": "double"}],
}


def test_activating_serves_the_production_webhook(open_editor):
    editor = open_editor("Served", HOOK_DOUBLER)
    page = editor.page
    page.get_by_role("switch", name="Active").click()
    expect(page.get_by_text("Workflow is active: its triggers are live")).to_be_visible()
    url = editor.open("Hook").get_by_test_id("production-url").inner_text()
    response = _call_when_registered(url, {"n": 3})
    assert response.status_code == 200, response.text
    assert response.json()["doubled"] == 6

    page.get_by_role("switch", name="Active").click()
    expect(page.get_by_text("Workflow deactivated")).to_be_visible()
    assert _call_when_registered(url, {"n": 3}, within_s=0).status_code == 404


def test_validation_problems_are_shown_on_the_nodes(open_editor):
    editor = open_editor("Broken")
    editor.drop("Manual Trigger", 80, 200)
    editor.drop("Sort", 380, 200)
    editor.connect("Manual Trigger", "main", "Sort")
    editor.page.get_by_role("button", name="Save", exact=True).click()
    # a missing required parameter does not stop saving: the draft saves with the problem on its node
    expect(editor.page.get_by_text("as a draft: 1 problem(s) on Sort; fix them before activating")).to_be_visible()
    expect(editor.node("Sort").get_by_test_id("node-problem")).to_be_visible()
    expect(editor.node("Manual Trigger").get_by_test_id("node-problem")).to_have_count(0)
    panel = editor.open("Sort")
    expect(panel.get_by_role("alert").or_(panel.locator(".rt-CalloutRoot")).first).to_contain_text("fields")
    expect(editor.page.get_by_test_id("unsaved")).to_have_count(0)


def test_moving_a_node_is_kept_after_saving(open_editor, account):
    editor = open_editor("Mover", TRIGGER_AND_SET)
    page = editor.page
    box = editor.node("Mark").bounding_box()
    page.mouse.move(box["x"] + 60, box["y"] + 20)
    page.mouse.down()
    page.mouse.move(box["x"] + 160, box["y"] + 220, steps=12)
    page.mouse.up()
    expect(page.get_by_test_id("unsaved")).to_be_visible()
    moved = editor.node("Mark").bounding_box()
    assert moved["y"] > box["y"] + 150
    editor.drop("No Operation", 60, 500)  # redraws the whole graph from Python's copy
    again = editor.node("Mark").bounding_box()
    assert abs(again["x"] - moved["x"]) < 2 and abs(again["y"] - moved["y"]) < 2
    editor.save()
    mark = next(n for n in editor.definition(account.api)["nodes"] if n["name"] == "Mark")
    assert mark["position"][1] > 60, mark["position"]  # moved down (flow units depend on the zoom)


def test_undo_redo_copy_paste_and_delete(open_editor, account):
    editor = open_editor("Keyboard", TRIGGER_AND_SET)
    page = editor.page
    nodes = page.locator(".react-flow__node")
    expect(nodes).to_have_count(2)

    panel = editor.open("Mark")
    panel.get_by_label("Fields 1 Name").fill("checked")
    expect(panel.get_by_label("Fields 1 Name")).to_have_value("checked")
    editor.close_panel()
    page.get_by_role("button", name="Undo (Ctrl+Z)").click()
    panel = editor.open("Mark")
    expect(panel.get_by_label("Fields 1 Name")).to_have_value("seen")
    page.get_by_role("button", name="Redo (Ctrl+Shift+Z)").click()
    expect(panel.get_by_label("Fields 1 Name")).to_have_value("checked")
    editor.close_panel()

    editor.node("Mark").click()
    page.keyboard.press("Control+c")
    expect(page.get_by_text("Copied 1 node")).to_be_visible()
    page.mouse.move(*_canvas_point(editor, 500, 450))
    page.keyboard.press("Control+v")
    expect(nodes).to_have_count(3)
    expect(editor.node("Mark 2")).to_be_visible()

    page.keyboard.press("Control+z")
    expect(nodes).to_have_count(2)
    page.keyboard.press("Control+Shift+z")
    expect(nodes).to_have_count(3)

    # Select two nodes (Ctrl+click adds to the selection) and delete them with the Delete key.
    editor.node("Mark").click()
    editor.node("Mark 2").click(modifiers=["Control"])
    page.keyboard.press("Delete")
    expect(nodes).to_have_count(1)
    expect(page.locator(".react-flow__edge")).to_have_count(0)
    editor.save()
    assert [n["name"] for n in editor.definition(account.api)["nodes"]] == ["Start"]


def test_restore_an_old_version(open_editor, account):
    editor = open_editor("Versions", TRIGGER_AND_SET)
    page = editor.page
    editor.node("Mark").click()
    page.keyboard.press("Delete")
    expect(page.locator(".react-flow__node")).to_have_count(1)
    editor.save()  # version 2, without Mark

    page.get_by_role("button", name="Version history").click()
    dialog = page.get_by_role("dialog")
    expect(dialog.get_by_text("current")).to_be_visible()
    dialog.get_by_role("button", name="Restore version 1").click()
    expect(page.get_by_text("Restored version 1 as version 3")).to_be_visible()
    expect(editor.node("Mark")).to_be_visible()
    workflow = account.api.get(f"/workflows/{editor.workflow_id}").json()
    assert workflow["latest_version"] == 3 and len(workflow["definition"]["nodes"]) == 2


def _call_when_registered(url: str, body: dict, within_s: float = 15) -> httpx.Response:
    """Activation registers the webhook path through the event bus, so it goes live a moment later."""
    deadline = time.monotonic() + within_s
    while True:
        response = httpx.post(url, json=body, timeout=30)
        if response.status_code != 404 or time.monotonic() > deadline:
            return response
        time.sleep(0.25)


def _canvas_point(editor, x: int, y: int) -> tuple[float, float]:
    box = editor.canvas.bounding_box()
    return box["x"] + x, box["y"] + y
