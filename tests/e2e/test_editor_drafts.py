"""Drafts in Chromium: an incomplete workflow saves, its problems show on the canvas, in the panel and the node
details view, and activating it is refused with a message naming the nodes."""

from playwright.sync_api import expect


def _flow() -> dict:
    return {
        "nodes": [
            {"id": "hook", "name": "Hook", "type": "webhook", "position": [0, 0],
             "parameters": {"path": "e2e-draft", "respond": "last_node"}},
            {"id": "mark", "name": "Mark", "type": "set", "position": [300, 0],
             "parameters": {"keep_only_set": True, "fields": [{"name": "total", "value": ""}]}},
        ],
        "connections": [{"from": "hook", "to": "mark"}],
    }


def test_an_incomplete_draft_saves_with_warnings_and_cannot_be_activated(open_editor, account):
    editor = open_editor("Draft", _flow())
    page = editor.page
    expect(editor.node("Mark").get_by_test_id("node-problem")).to_have_count(0)
    panel = editor.open("Mark")
    panel.get_by_label("Fields 1 Value").fill("{{ $json.body.qty * }}")  # an expression syntax error
    editor.save()
    expect(page.get_by_text("as a draft: 1 problem(s) on Mark; fix them before activating")).to_be_visible()
    saved = account.api.get(f"/workflows/{editor.workflow_id}").json()
    assert saved["latest_version"] == 2 and saved["definition"]["nodes"][1]["parameters"]["fields"][0]["value"] == (
        "{{ $json.body.qty * }}")
    assert [w["node"] for w in saved["warnings"]] == ["Mark"]
    problem = "parameters.fields[0].value: invalid expression '$json.body.qty *': invalid syntax"
    expect(editor.node("Mark").get_by_test_id("node-problem")).to_be_visible()  # on the canvas
    expect(editor.node("Mark").get_by_test_id("node-problem")).to_have_attribute("title", problem)
    expect(editor.node("Hook").get_by_test_id("node-problem")).to_have_count(0)
    expect(panel.get_by_role("alert")).to_have_text(problem)  # on the field it is about

    panel.get_by_role("button", name="Open node details").click()
    ndv = page.get_by_role("dialog", name="Node details")
    expect(ndv.get_by_test_id("ndv-problems")).to_have_text(problem)
    expect(ndv.get_by_role("alert")).to_have_text(problem)
    ndv.get_by_role("button", name="Back to canvas").click()

    page.get_by_role("switch", name="Active").click()
    expect(page.get_by_text("Not activated: cannot activate: 1 problem(s) on 'Mark'", exact=False)).to_be_visible()
    expect(page.get_by_role("switch", name="Active")).to_have_attribute("aria-checked", "false")
    assert account.api.get(f"/workflows/{editor.workflow_id}").json()["active"] is False

    # fixed and saved: the warnings go, and activation goes through
    panel.get_by_label("Fields 1 Value").fill("{{ $json.body.qty * 2 }}")
    editor.save()
    expect(editor.node("Mark").get_by_test_id("node-problem")).to_have_count(0)
    expect(panel.get_by_role("alert")).to_have_count(0)
    page.get_by_role("switch", name="Active").click()
    expect(page.get_by_role("switch", name="Active")).to_have_attribute("aria-checked", "true")
    assert account.api.get(f"/workflows/{editor.workflow_id}").json()["active"] is True
