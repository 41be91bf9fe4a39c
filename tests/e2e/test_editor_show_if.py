"""Fields that apply only to some settings appear and disappear as a person changes those settings."""

from playwright.sync_api import expect

FORM = {
    "nodes": [
        {"id": "t", "name": "Start", "type": "manual_trigger", "position": [0, 0]},
        {"id": "h", "name": "Call", "type": "http_request", "position": [300, 0],
         "parameters": {"url": "https://api.example.com/v1/orders"}},
        {"id": "x", "name": "Scrape", "type": "html", "position": [600, 0],
         "parameters": {"extract": [{"key": "title", "selector": "h1"}]}},
    ],
    "connections": [{"from": "t", "to": "h"}, {"from": "h", "to": "x"}],
}


def _choose(page, panel, label: str, option: str):
    panel.get_by_label(label, exact=True).click()
    page.get_by_role("option", name=option, exact=True).click()


def test_http_request_body_and_pagination_fields_follow_their_settings(open_editor, account):
    editor = open_editor("Shown if", FORM)
    page = editor.page
    panel = editor.open("Call")
    expect(panel.get_by_label("Url", exact=True)).to_be_visible()
    for hidden in ("Body", "Content Type", "Page Parameter", "Next Url Field", "Max Pages"):
        expect(panel.get_by_label(hidden, exact=True)).to_have_count(0)

    _choose(page, panel, "Body Type", "raw")
    expect(panel.get_by_label("Body", exact=True)).to_be_visible()
    expect(panel.get_by_label("Content Type", exact=True)).to_be_visible()
    panel.get_by_label("Body", exact=True).fill("hello")
    _choose(page, panel, "Body Type", "json")
    expect(panel.get_by_label("Content Type", exact=True)).to_have_count(0)
    expect(panel.get_by_label("Body", exact=True)).to_be_visible()

    _choose(page, panel, "Pagination", "page_number")
    expect(panel.get_by_label("Page Parameter", exact=True)).to_be_visible()
    expect(panel.get_by_label("Max Pages", exact=True)).to_be_visible()
    expect(panel.get_by_label("Next Url Field", exact=True)).to_have_count(0)
    _choose(page, panel, "Pagination", "off")
    expect(panel.get_by_label("Page Parameter", exact=True)).to_have_count(0)
    editor.save()
    params = next(n for n in editor.definition(account.api)["nodes"] if n["name"] == "Call")["parameters"]
    assert (params["body_type"], params["body"], params["pagination"]) == ("json", "hello", "off")


def test_a_collection_rows_field_appears_when_its_row_needs_it(open_editor, account):
    editor = open_editor("Rows shown if", FORM)
    page = editor.page
    panel = editor.open("Scrape")
    expect(panel.get_by_label("Extract 1 Attribute", exact=True)).to_have_count(0)
    _choose(page, panel, "Extract 1 Returns", "attribute")
    expect(panel.get_by_label("Extract 1 Attribute", exact=True)).to_be_visible()
    panel.get_by_label("Extract 1 Attribute", exact=True).fill("href")
    _choose(page, panel, "Extract 1 Returns", "text")
    expect(panel.get_by_label("Extract 1 Attribute", exact=True)).to_have_count(0)
    expect(panel.get_by_label("Binary Property", exact=True)).to_have_count(0)
    _choose(page, panel, "Source", "binary")
    expect(panel.get_by_label("Binary Property", exact=True)).to_be_visible()
    expect(panel.get_by_label("Source Field", exact=True)).to_have_count(0)
