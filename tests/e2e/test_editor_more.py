"""The editor's test-data tools in Chromium: pins, Run this node, expression preview, test events,
version diff, sticky notes, Debug in editor and the shortcuts."""

import json
import time

import httpx
from playwright.sync_api import expect

CHAIN = {
    "nodes": [
        {"id": "start", "name": "Start", "type": "manual_trigger", "position": [0, 0]},
        {"id": "double", "name": "Double", "type": "set", "position": [300, 0],
         "parameters": {"fields": [{"name": "doubled", "value": "{{ $json.n * 2 }}"}]}},
        {"id": "label", "name": "Label", "type": "set", "position": [600, 0],
         "parameters": {"fields": [{"name": "label", "value": "{{ 'n=' + str($json.doubled) }}"}]}},
        {"id": "other", "name": "Other", "type": "noop", "position": [300, 250]},
    ],
    "connections": [{"from": "start", "to": "double"}, {"from": "double", "to": "label"},
                    {"from": "start", "to": "other"}],
}


def _run_with_input(page, value: dict):
    page.get_by_role("button", name="Test input").click()
    page.get_by_label("Test input JSON").fill(json.dumps(value))
    page.get_by_role("button", name="Run with this input").click()
    expect(page.get_by_test_id("run-status")).to_have_text("Run succeeded", timeout=20_000)


def _set_input(page, value: dict):
    """Test input for later runs, without running now."""
    page.get_by_role("button", name="Test input").click()
    page.get_by_label("Test input JSON").fill(json.dumps(value))
    page.keyboard.press("Escape")
    expect(page.get_by_label("Test input JSON")).to_have_count(0)


def _output(panel) -> list:
    panel.get_by_role("tab", name="Data").click()
    return json.loads(panel.get_by_test_id("node-output").inner_text())


def _status(editor, name: str):
    return editor.node(name).get_by_test_id("flow-node")


def test_pin_output_and_a_rerun_uses_the_pinned_data(open_editor, account):
    editor = open_editor("Pins", CHAIN)
    page = editor.page
    _run_with_input(page, {"n": 2})
    panel = editor.open("Double")
    panel.get_by_role("tab", name="Data").click()
    panel.get_by_role("button", name="Pin output").click()
    expect(panel.get_by_test_id("pinned")).to_be_visible()
    expect(editor.node("Double").get_by_test_id("pin-badge")).to_be_visible()
    assert json.loads(panel.get_by_test_id("pinned-data").inner_text()) == [{"json": {"n": 2, "doubled": 4}}]

    panel.get_by_role("button", name="Edit", exact=True).click()
    panel.get_by_label("Pinned data JSON").fill('[{"doubled": 99}]')
    panel.get_by_role("button", name="Save pinned data").click()
    expect(panel.get_by_test_id("pinned-data")).to_contain_text("99")
    expect(page.get_by_test_id("unsaved")).to_be_visible()

    _run_with_input(page, {"n": 5})  # Double is pinned: it does not run, its pins go on
    assert _output(editor.open("Label")) == [{"json": {"doubled": 99, "label": "n=99"}}]
    saved = editor.definition(account.api)  # Run saved the pins first
    assert saved["pin_data"] == {"Double": [{"json": {"doubled": 99}}]}

    panel = editor.open("Double")
    panel.get_by_role("tab", name="Data").click()
    panel.get_by_role("button", name="Unpin").click()
    expect(editor.node("Double").get_by_test_id("pin-badge")).to_have_count(0)
    _run_with_input(page, {"n": 5})
    assert _output(editor.open("Label")) == [{"json": {"n": 5, "doubled": 10, "label": "n=10"}}]


def test_run_this_node_runs_only_what_it_needs(open_editor):
    editor = open_editor("Partial", CHAIN)
    page = editor.page
    _set_input(page, {"n": 3})
    panel = editor.open("Double")
    panel.get_by_role("button", name="Run this node").click()
    expect(page.get_by_test_id("run-status")).to_have_text("Run succeeded", timeout=20_000)
    expect(_status(editor, "Start")).to_have_attribute("data-run-status", "succeeded")
    expect(_status(editor, "Double")).to_have_attribute("data-run-status", "succeeded")
    expect(_status(editor, "Label")).to_have_attribute("data-run-status", "")
    expect(_status(editor, "Other")).to_have_attribute("data-run-status", "")
    assert _output(editor.open("Double")) == [{"json": {"n": 3, "doubled": 6}}]


def test_expression_preview_follows_typing(open_editor):
    editor = open_editor("Preview", CHAIN)
    page = editor.page
    _run_with_input(page, {"n": 21})
    panel = editor.open("Double")
    preview = panel.get_by_test_id("expression-preview")
    expect(preview).to_have_text("= 42")
    panel.get_by_label("Fields 1 Value").fill("{{ $json.n * 3 }}")
    expect(preview).to_have_text("= 63")
    panel.get_by_label("Fields 1 Value").fill("{{ $json.n * }}")
    expect(preview).to_contain_text("⚠")
    panel.get_by_label("Fields 1 Value").fill("{{ ().__class__ }}")
    expect(preview).to_contain_text("⚠")
    panel.get_by_label("Fields 1 Value").fill("plain")
    expect(preview).to_have_count(0)


HOOKED = {
    "nodes": [
        {"id": "hook", "name": "Hook", "type": "webhook", "position": [0, 0],
         "parameters": {"path": "e2e-listen", "respond": "last_node"}},
        {"id": "greet", "name": "Greet", "type": "set", "position": [300, 0],
         "parameters": {"fields": [{"name": "hi", "value": "{{ $json.body.name }}"}]}},
    ],
    "connections": [{"from": "hook", "to": "greet"}],
}


def test_listen_for_a_test_event(open_editor):
    editor = open_editor("Listener", HOOKED)
    page = editor.page
    panel = editor.open("Hook")
    url = panel.get_by_test_id("test-url").inner_text()
    panel.get_by_role("button", name="Listen for test event").click()
    expect(panel.get_by_test_id("listening")).to_be_visible()
    response = _post_when_listening(url, {"name": "Ada"})
    assert response.status_code == 200, response.text
    assert response.json()["hi"] == "Ada"
    expect(page.get_by_test_id("run-status")).to_have_text("Run succeeded", timeout=20_000)
    expect(_status(editor, "Greet")).to_have_attribute("data-run-status", "succeeded")
    expect(panel.get_by_test_id("listening")).to_have_count(0)
    output = _output(editor.open("Hook"))
    assert output[0]["json"]["body"] == {"name": "Ada"}

    # Listening again, then stopping: the test URL answers 404 again.
    panel = editor.open("Hook")
    panel.get_by_role("tab", name="Parameters").click()
    panel.get_by_role("button", name="Listen for test event").click()
    expect(panel.get_by_test_id("listening")).to_be_visible()
    panel.get_by_role("button", name="Stop listening").click()
    expect(page.get_by_text("Stopped listening for a test event")).to_be_visible()
    assert httpx.post(url, json={}, timeout=10).status_code == 404


def test_version_diff_highlights_changes(open_editor, account):
    editor = open_editor("Diffed", CHAIN)
    page = editor.page
    v2 = json.loads(json.dumps(CHAIN))
    v2["nodes"] = [n for n in v2["nodes"] if n["name"] != "Other"]
    v2["connections"] = [c for c in v2["connections"] if c["to"] != "other"]
    v2["nodes"][1]["parameters"]["fields"][0]["value"] = "{{ $json.n * 10 }}"
    v2["nodes"].append({"id": "new", "name": "Added", "type": "noop", "position": [900, 0]})
    assert account.api.patch(f"/workflows/{editor.workflow_id}", json={"definition": v2}).status_code == 200
    page.reload()
    expect(editor.canvas).to_have_attribute("data-ready", "true")

    page.get_by_role("button", name="Version history").click()
    page.get_by_role("dialog").get_by_role("button", name="Compare with version 1").click()
    expect(page.get_by_test_id("diff-legend")).to_contain_text("Changes since version 1")
    expect(_status(editor, "Added")).to_have_attribute("data-diff", "added")
    expect(_status(editor, "Double")).to_have_attribute("data-diff", "changed")
    expect(_status(editor, "Other")).to_have_attribute("data-diff", "removed")  # a ghost of the old node
    expect(_status(editor, "Label")).to_have_attribute("data-diff", "")
    page.get_by_role("button", name="Exit diff view").click()
    expect(page.get_by_test_id("diff-legend")).to_have_count(0)
    expect(editor.node("Other")).to_have_count(0)
    expect(_status(editor, "Double")).to_have_attribute("data-diff", "")


def test_sticky_note_survives_save_and_reload(open_editor, account):
    editor = open_editor("Noted", CHAIN)
    page = editor.page
    page.get_by_role("button", name="Add sticky note").click()
    sticky = page.get_by_test_id("sticky-note")
    expect(sticky).to_have_count(1)
    sticky.dblclick()
    page.get_by_label("Sticky note text").fill("# Why\n- doubles **n**")
    page.get_by_label("Sticky note text").blur()
    expect(sticky.locator(".lf-sticky-h1")).to_have_text("Why")
    expect(sticky.locator("strong")).to_have_text("n")
    editor.save()
    notes = editor.definition(account.api)["sticky_notes"]
    assert [n["text"] for n in notes] == ["# Why\n- doubles **n**"]

    page.reload()
    expect(editor.canvas).to_have_attribute("data-ready", "true")
    expect(page.get_by_test_id("sticky-note")).to_contain_text("doubles n")
    page.get_by_test_id("sticky-note").click()
    page.keyboard.press("Delete")
    expect(page.get_by_test_id("sticky-note")).to_have_count(0)
    page.keyboard.press("Control+z")
    expect(page.get_by_test_id("sticky-note")).to_have_count(1)

    # Moving a note is an edit like any other: saved, and undone by Ctrl+Z.
    before = page.get_by_test_id("sticky-note").bounding_box()
    page.mouse.move(before["x"] + 40, before["y"] + 30)
    page.mouse.down()
    page.mouse.move(before["x"] + 40, before["y"] + 230, steps=10)
    page.mouse.up()
    expect(page.get_by_test_id("unsaved")).to_be_visible()
    assert page.get_by_test_id("sticky-note").bounding_box()["y"] > before["y"] + 150
    editor.save()
    assert editor.definition(account.api)["sticky_notes"][0]["position"] != notes[0]["position"]


def test_debug_in_editor_pins_a_past_executions_data(open_editor, account, base_url):
    editor = open_editor("Debugged", CHAIN)
    page = editor.page
    accepted = account.api.post(f"/workflows/{editor.workflow_id}/run", json={"input": {"n": 4}}).json()
    execution = _finished(account.api, accepted["execution_id"])
    assert execution["status"] == "succeeded"

    page.goto(f"{base_url}/workflows/{editor.workflow_id}?debug={execution['id']}")
    expect(page.get_by_test_id("debug-banner")).to_contain_text(execution["id"])
    expect(page.get_by_test_id("unsaved")).to_be_visible()
    for name in ("Start", "Double", "Label"):
        expect(editor.node(name).get_by_test_id("pin-badge")).to_be_visible()
    expect(_status(editor, "Double")).to_have_attribute("data-run-status", "succeeded")

    # Re-run with other input: the pinned trigger and nodes replay the execution's data.
    panel = editor.open("Label")
    panel.get_by_role("tab", name="Data").click()
    panel.get_by_role("button", name="Unpin").click()
    _run_with_input(page, {"n": 100})
    assert _output(editor.open("Label")) == [{"json": {"n": 4, "doubled": 8, "label": "n=8"}}]
    assert set(editor.definition(account.api)["pin_data"]) == {"Start", "Double", "Other"}


def test_shortcuts_help_and_ctrl_enter_runs(open_editor, account):
    editor = open_editor("Keys", CHAIN)
    page = editor.page
    page.get_by_role("button", name="Keyboard shortcuts").click()
    help_ = page.get_by_test_id("shortcuts-help")
    for keys in ("Ctrl+Enter", "Ctrl+A", "Ctrl+S", "Ctrl+Z / Ctrl+Shift+Z", "Ctrl+C / Ctrl+V"):
        expect(help_).to_contain_text(keys)
    page.keyboard.press("Escape")
    _set_input(page, {"n": 1})
    editor.canvas.click(position={"x": 700, "y": 600})
    page.keyboard.press("Control+Enter")
    expect(page.get_by_test_id("run-status")).to_have_text("Run succeeded", timeout=20_000)
    page.keyboard.press("Control+a")
    expect(page.locator(".react-flow__node.selected")).to_have_count(4)

    # Ctrl+S saves what was typed, even from inside the field.
    panel = editor.open("Double")
    panel.get_by_label("Fields 1 Name").fill("twice")
    page.keyboard.press("Control+s")
    expect(page.get_by_text("Saved as version")).to_be_visible()
    expect(page.get_by_test_id("unsaved")).to_have_count(0)
    assert editor.definition(account.api)["nodes"][1]["parameters"]["fields"][0]["name"] == "twice"


def _post_when_listening(url: str, body: dict, within_s: float = 15) -> httpx.Response:
    """The editor arms the test URL a moment after the click."""
    deadline = time.monotonic() + within_s
    while True:
        response = httpx.post(url, json=body, timeout=30)
        if response.status_code != 404 or time.monotonic() > deadline:
            return response
        time.sleep(0.2)


def _finished(api: httpx.Client, execution_id: str, within_s: float = 20) -> dict:
    deadline = time.monotonic() + within_s
    while True:
        execution = api.get(f"/executions/{execution_id}").json()
        if execution["status"] in ("succeeded", "failed") or time.monotonic() > deadline:
            return execution
        time.sleep(0.2)


def test_unsaved_changes_are_guarded_when_leaving(open_editor, account, base_url):
    editor = open_editor("Guarded", CHAIN)
    page = editor.page
    page.get_by_role("button", name="Add sticky note").click()
    expect(page.get_by_test_id("unsaved")).to_be_visible()
    page.get_by_role("button", name="Back to workflows").click()
    dialog = page.get_by_role("alertdialog")
    expect(dialog).to_contain_text("Leave without saving?")
    dialog.get_by_role("button", name="Stay").click()
    expect(dialog).to_have_count(0)
    expect(page.get_by_test_id("unsaved")).to_be_visible()

    page.get_by_role("button", name="Back to workflows").click()
    page.get_by_role("alertdialog").get_by_role("button", name="Leave without saving").click()
    page.wait_for_url(f"{base_url}/workflows")
    assert "sticky_notes" not in editor.definition(account.api)

    page.goto(f"{base_url}/workflows/{editor.workflow_id}")
    expect(editor.canvas).to_have_attribute("data-ready", "true")
    page.get_by_role("button", name="Add sticky note").click()
    page.get_by_role("button", name="Back to workflows").click()
    page.get_by_role("alertdialog").get_by_role("button", name="Save and leave").click()
    page.wait_for_url(f"{base_url}/workflows")
    assert len(editor.definition(account.api)["sticky_notes"]) == 1

    # Closing the tab (or reloading) with unsaved changes: the browser's own prompt.
    page.goto(f"{base_url}/workflows/{editor.workflow_id}")
    expect(editor.canvas).to_have_attribute("data-ready", "true")
    page.get_by_role("button", name="Add sticky note").click()
    expect(page.get_by_test_id("unsaved")).to_be_visible()
    with page.expect_event("dialog") as prompt:
        page.close(run_before_unload=True)
    assert prompt.value.type == "beforeunload"
    prompt.value.accept()


def test_a_failed_run_shows_its_error_in_the_status_pill(open_editor):
    failing = {"nodes": [{"id": "start", "name": "Start", "type": "manual_trigger", "position": [0, 0]},
                         {"id": "stop", "name": "Check", "type": "stop_and_error", "position": [300, 0],
                          "parameters": {"message": "order {{ $json.n }} has no customer"}}],
               "connections": [{"from": "start", "to": "stop"}]}
    editor = open_editor("Failing", failing)
    page = editor.page
    page.get_by_role("button", name="Test input").click()
    page.get_by_label("Test input JSON").fill(json.dumps({"n": 7}))
    page.get_by_role("button", name="Run with this input").click()
    pill = page.get_by_test_id("run-status").locator("..")
    expect(page.get_by_test_id("run-status")).to_have_text("Run failed", timeout=20_000)
    error = pill.get_by_text("order 7 has no customer")
    expect(error).to_be_visible()
    assert error.bounding_box()["width"] > 100  # not squeezed to nothing
