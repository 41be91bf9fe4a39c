"""Issue #12: the editor's logs panel (the run's node timeline) and executions tab; Tab opens the node creator."""

from playwright.sync_api import expect

FLOW = {
    "nodes": [
        {"id": "start", "name": "Start", "type": "manual_trigger", "position": [0, 0]},
        {"id": "total", "name": "Total", "type": "set", "position": [300, 0],
         "parameters": {"fields": [{"name": "total", "value": "{{ $json.qty * 2 }}"}]}},
    ],
    "connections": [{"from": "start", "to": "total"}],
}


def _run(page, test_input: str, expected: str):
    page.get_by_role("button", name="Test input").click()
    page.get_by_label("Test input JSON").fill(test_input)
    page.get_by_role("button", name="Run with this input").click()
    expect(page.get_by_test_id("run-status")).to_have_text(expected, timeout=20_000)


def test_logs_show_the_node_timeline_and_executions_list_this_workflows_runs(open_editor):
    editor = open_editor("Logged", FLOW)
    page = editor.page
    _run(page, '{"qty": 4}', "Run succeeded")
    _run(page, '{"qty": "x"}', "Run failed")
    page.get_by_role("button", name="Logs and executions").click()
    panel = page.get_by_role("region", name="Logs and executions")
    rows = panel.get_by_test_id("log-row")
    expect(rows).to_have_count(2)
    expect(rows.nth(0)).to_contain_text("Start")
    expect(rows.nth(0)).to_contain_text("1 item")
    expect(rows.nth(1)).to_contain_text("failed")
    expect(rows.nth(1)).to_contain_text('`$json.qty` is the text "x" in item 0; multiplying needs numbers')
    expect(rows.nth(1)).not_to_contain_text("(item 0)")

    panel.get_by_role("tab", name="Executions").click()
    runs = panel.get_by_test_id("execution-row")
    expect(runs).to_have_count(2)
    expect(runs.nth(0)).to_contain_text("failed")  # newest first
    expect(runs.nth(1)).to_contain_text("succeeded")
    runs.nth(1).get_by_role("button").click()
    expect(panel.get_by_role("tab", name="Logs")).to_have_attribute("aria-selected", "true")
    expect(rows.nth(1)).to_contain_text("succeeded")
    expect(editor.node("Total").get_by_test_id("flow-node")).to_have_attribute("data-run-status", "succeeded")


def test_tab_on_the_canvas_opens_the_node_creator(open_editor):
    editor = open_editor("Tabbed", FLOW)
    page = editor.page
    editor.node("Total").click()
    editor.close_panel()
    editor.canvas.click(position={"x": 600, "y": 400})
    page.keyboard.press("Tab")
    expect(page.get_by_label("Search nodes")).to_be_focused()
    page.keyboard.type("no operation")
    page.keyboard.press("Enter")
    expect(editor.node("No Operation")).to_be_visible()
