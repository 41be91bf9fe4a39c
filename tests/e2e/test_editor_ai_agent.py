"""The AI Agent in the editor: its tools are nodes connected to its 'tools' output, drawn like any connection."""

from playwright.sync_api import expect


def test_a_tool_node_is_connected_to_the_agents_tools_output(open_editor, account):
    editor = open_editor("Agent with tools")
    page = editor.page
    editor.drop("Manual Trigger", 80, 300)
    editor.drop("AI Agent", 360, 300)
    editor.drop("Set", 640, 460)
    expect(editor.node("AI Agent").get_by_test_id("port-out-main")).to_be_visible()
    expect(editor.node("AI Agent").get_by_test_id("port-out-tools")).to_be_visible()
    editor.connect("Manual Trigger", "main", "AI Agent")
    editor.connect("AI Agent", "tools", "Set")
    expect(page.locator(".react-flow__edge")).to_have_count(2)
    editor.save()

    definition = editor.definition(account.api)
    ids = {node["name"]: node["id"] for node in definition["nodes"]}
    assert {"from": ids["AI Agent"], "output": "tools", "to": ids["Set"], "input": "main"} in [
        {k: c.get(k, "main") for k in ("from", "output", "to", "input")} for c in definition["connections"]]
