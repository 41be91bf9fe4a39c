"""The node details view in Chromium: three panes, Table/JSON/Schema, search and paging, drag-mapping a field."""

import base64
import json
import re
import time
import uuid

import httpx
from playwright.sync_api import expect

from tests.e2e.conftest import new_account

CUSTOMERS = [{"json": {"body": {"customer": {"email": f"user{n}@example.com", "name": f"User {n}"}, "qty": n}},
              **({"binary": {"invoice": {"id": "f1", "file_name": "invoice.pdf", "mime_type": "application/pdf",
                                         "size": 2048}}} if n == 0 else {})} for n in range(12)]


def _flow(pinned: bool) -> dict:
    return {
        "nodes": [
            {"id": "hook", "name": "Hook", "type": "webhook", "position": [0, 0],
             "parameters": {"path": "e2e-ndv", "respond": "last_node"}},
            {"id": "mark", "name": "Mark", "type": "set", "position": [300, 0],
             "parameters": {"keep_only_set": True, "fields": [{"name": "email", "value": ""}]}},
        ],
        "connections": [{"from": "hook", "to": "mark"}],
        **({"pin_data": {"Hook": CUSTOMERS}} if pinned else {}),
    }


def _open_details(editor):
    editor.open("Mark")
    editor.panel.get_by_role("button", name="Open node details").click()
    ndv = editor.page.get_by_role("dialog", name="Node details")
    expect(ndv).to_be_visible()
    return ndv


def test_three_panes_views_search_and_paging(open_editor):
    editor = open_editor("NDV views", _flow(pinned=True))
    ndv = _open_details(editor)
    source = ndv.get_by_role("region", name="Input")
    expect(ndv.get_by_role("region", name="Output")).to_be_visible()
    expect(ndv.get_by_test_id("ndv-node-name")).to_have_text("Mark")
    expect(ndv.get_by_label("Fields 1 Value")).to_be_visible()  # parameters in the middle

    # Schema (the input's default): field names, types and samples.
    email = source.get_by_test_id("map-field").filter(has_text="email")
    expect(email).to_contain_text("string")
    expect(email).to_contain_text("user0@example.com")
    expect(source.get_by_test_id("ndv-in-range")).to_have_text("Items 1–10 of 12")
    expect(source.get_by_test_id("ndv-file")).to_contain_text("invoice.pdf")
    expect(source.get_by_test_id("ndv-file")).to_contain_text("application/pdf")
    expect(source.get_by_test_id("ndv-file")).to_contain_text("2.0 KB")

    source.get_by_role("button", name="Input: next items").click()
    expect(source.get_by_test_id("ndv-in-range")).to_have_text("Items 11–12 of 12")

    source.get_by_role("button", name="Input JSON").click()
    expect(source.get_by_role("button", name="Input JSON")).to_have_attribute("aria-pressed", "true")
    shown = json.loads(source.get_by_test_id("ndv-in-json").inner_text())
    assert [item["body"]["qty"] for item in shown] == [10, 11]

    source.get_by_label("Search input").fill("user7@")
    expect(source.get_by_test_id("ndv-in-range")).to_have_text("Items 1–1 of 1")
    source.get_by_role("button", name="Input Table").click()
    expect(source.get_by_role("columnheader")).to_have_text(["body"])
    expect(source.get_by_role("cell").first).to_contain_text("user7@example.com")

    expect(ndv.get_by_test_id("ndv-out-empty")).to_contain_text("No output yet")
    ndv.get_by_role("button", name="Back to canvas").click()
    expect(ndv).to_have_count(0)
    expect(editor.panel).to_be_visible()


def test_dragging_a_field_onto_a_parameter_maps_it_and_the_run_uses_it(open_editor, account):
    editor = open_editor("NDV mapping", _flow(pinned=True))
    ndv = _open_details(editor)
    field = ndv.get_by_role("region", name="Input").get_by_test_id("map-field").filter(has_text="email")
    target = ndv.get_by_label("Fields 1 Value")
    field.drag_to(target)
    expect(target).to_have_value("{{ $json.body.customer.email }}")
    expect(editor.page.get_by_test_id("unsaved")).to_be_visible()

    ndv.get_by_role("button", name="Run this node").click()
    expect(editor.page.get_by_test_id("run-status")).to_have_text("Run succeeded", timeout=20_000)
    output = ndv.get_by_role("region", name="Output")
    expect(output.get_by_test_id("ndv-out-range")).to_have_text("Items 1–10 of 12")
    expect(output.get_by_role("cell").first).to_have_text("user0@example.com")
    saved = editor.definition(account.api)
    fields = next(n for n in saved["nodes"] if n["name"] == "Mark")["parameters"]["fields"]
    assert fields == [{"name": "email", "value": "{{ $json.body.customer.email }}"}]


def test_before_any_run_the_input_pane_says_what_to_do(open_editor):
    editor = open_editor("NDV empty", _flow(pinned=False))
    ndv = _open_details(editor)
    expect(ndv.get_by_test_id("ndv-in-empty")).to_have_text(
        "No input yet — run the previous node (or pin its output) to see its items here.")


def test_autocomplete_suggests_fields_with_types_and_methods(open_editor):
    editor = open_editor("NDV autocomplete", _flow(pinned=True))
    ndv = _open_details(editor)
    page = editor.page
    target = ndv.get_by_label("Fields 1 Value")
    target.click()
    target.press_sequentially("{{ $json.body.cu")
    suggestions = page.get_by_role("listbox", name="Expression suggestions")
    expect(suggestions.get_by_role("option")).to_have_count(1)
    expect(suggestions.get_by_role("option")).to_contain_text("customer")
    target.press("Enter")
    expect(target).to_have_value("{{ $json.body.customer")
    target.press_sequentially(".")
    expect(suggestions.get_by_role("option", name="email string")).to_be_visible()
    expect(suggestions.get_by_role("option", name="name string")).to_be_visible()
    suggestions.get_by_role("option", name="email string").click()
    expect(target).to_have_value("{{ $json.body.customer.email")
    target.press_sequentially(".toUp")
    expect(suggestions.get_by_role("option")).to_have_text(["toUpperCase()method"])
    target.press("Tab")
    target.press_sequentially(") }}")
    expect(target).to_have_value("{{ $json.body.customer.email.toUpperCase() }}")
    expect(suggestions).to_have_count(0)
    expect(ndv.get_by_test_id("expression-preview")).to_contain_text("USER0@EXAMPLE.COM")


def test_a_long_expression_field_grows_instead_of_being_cut_off(open_editor):
    editor = open_editor("Long expression", _flow(pinned=True))
    panel = editor.open("Mark")
    field = panel.get_by_label("Fields 1 Value")
    one_line = field.bounding_box()["height"]
    long = "{{ " + " + ".join("$json.body.customer.name.toUpperCase()" for _ in range(8)) + " }}"
    field.fill(long)
    expect(field).to_have_value(long)
    expect(field).to_have_attribute("rows", "8")  # set once the value reached the server and came back
    assert field.bounding_box()["height"] > 2 * one_line
    assert field.evaluate("el => el.scrollWidth <= el.clientWidth")  # wrapped, not cut off


def test_expression_fields_are_syntax_highlighted_as_typed(open_editor):
    editor = open_editor("NDV highlighting", _flow(pinned=True))
    ndv = _open_details(editor)
    target = ndv.get_by_label("Fields 1 Value")
    layer = ndv.locator("[data-expression-highlight=on]")
    target.fill("plain text")
    expect(layer).to_have_count(0)  # no {{ }}: the field draws its own text
    target.fill("")
    target.press_sequentially('Hi {{ $json.body.customer.name.toUpperCase() + " #" + str(2) }}')
    expect(layer).to_have_count(1)
    expect(layer.locator("[data-token=variable]")).to_have_text(["$json"])
    expect(layer.locator("[data-token=function]")).to_have_text(["toUpperCase", "str"])
    expect(layer.locator("[data-token=string]")).to_have_text(['" #"'])
    expect(layer.locator("[data-token=number]")).to_have_text(["2"])
    expect(layer.locator("[data-token=brace]")).to_have_text(["{{", "}}"])
    expect(layer).to_have_text('Hi {{ $json.body.customer.name.toUpperCase() + " #" + str(2) }}')
    # the coloured layer lies over the field, whose own text is transparent (caret and selection stay its own)
    assert target.evaluate("el => getComputedStyle(el).webkitTextFillColor") == "rgba(0, 0, 0, 0)"
    colors = layer.evaluate("el => [...el.querySelectorAll('[data-token]')].map(s => getComputedStyle(s).color)")
    assert len(set(colors)) >= 5  # text, variable, function, string, number each in its own colour
    field_box, layer_box = target.bounding_box(), layer.bounding_box()
    assert abs(field_box["x"] - layer_box["x"]) < 3 and abs(field_box["y"] - layer_box["y"]) < 3
    assert abs(field_box["width"] - layer_box["width"]) < 20
    # a {{ left open is marked, and the preview still evaluates the finished expression
    expect(ndv.get_by_test_id("expression-preview")).to_contain_text("Hi USER 0 #2")
    target.press("End")
    target.press_sequentially(" {{ $json.body.qty")
    expect(layer.locator("[data-token=unclosed]")).to_have_text(["{{"])


PNG = base64.b64decode("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==")
CSV = b"sku,qty\nS1,3\nS2,4\n"


def _uploaded_items(account, base_url: str) -> list:
    """Items carrying real stored files: two uploaded through an active webhook, as the execution kept them."""
    path = f"ndv-files-{uuid.uuid4().hex[:8]}"
    definition = {"nodes": [{"id": "hook", "name": "Webhook", "type": "webhook", "position": [0, 0],
                             "parameters": {"path": path, "method": "POST"}}], "connections": []}
    workflow = account.api.post("/workflows", json={"name": "Uploads for the NDV", "definition": definition})
    assert account.api.post(f"/workflows/{workflow.json()['id']}/activate").status_code == 200
    answer = httpx.post(f"{base_url}/webhook/{path}", files={"photo": ("shelf.png", PNG, "image/png"),
                                                             "stock": ("stock.csv", CSV, "text/csv")}, timeout=30)
    assert answer.status_code == 202, answer.text
    execution_id, deadline = answer.json()["execution_id"], time.monotonic() + 30
    while (detail := account.api.get(f"/executions/{execution_id}").json())["status"] != "succeeded":
        assert time.monotonic() < deadline, "the upload's execution did not finish"
        time.sleep(0.2)
    return detail["steps"][0]["output"]["main"]


def test_files_in_the_input_can_be_viewed_and_downloaded(open_editor, account, base_url):
    items = _uploaded_items(account, base_url)
    flow = _flow(pinned=False)
    flow["pin_data"] = {"Hook": items}
    editor = open_editor("NDV files", flow)
    ndv = _open_details(editor)
    page = editor.page
    files = ndv.get_by_role("region", name="Input").get_by_test_id("ndv-file")
    expect(files).to_have_count(2)
    stock = files.filter(has_text="stock.csv")
    expect(stock).to_contain_text("text/csv")
    stock.get_by_role("button", name="View stock.csv").click()  # the start of the file, read by the storage API
    expect(page.get_by_test_id("ndv-file-text")).to_contain_text("S2,4")
    expect(page.get_by_test_id("ndv-file-note")).to_have_text(f"The whole file ({len(CSV)} B)")
    page.get_by_role("button", name="Close").click()
    expect(page.get_by_test_id("ndv-file-text")).to_have_count(0)
    files.filter(has_text="shelf.png").get_by_role("button", name="View shelf.png").click()
    image = page.get_by_test_id("ndv-file-image")  # through a short-lived signed link
    expect(image).to_be_visible()
    page.wait_for_function("el => el.complete && el.naturalWidth === 1", arg=image.element_handle())
    page.get_by_role("button", name="Close").click()
    with page.expect_download() as download:
        stock.get_by_role("button", name="Download stock.csv").click()
    assert download.value.suggested_filename == "stock.csv"
    with open(download.value.path(), "rb") as saved:
        assert saved.read() == CSV


def test_another_teams_file_reference_gives_no_link(open_editor, base_url):
    """A reference copied from another team's execution is listed, but the storage API refuses it (404)."""
    items = _uploaded_items(new_account(base_url, "Eve Outsider"), base_url)
    flow = _flow(pinned=False)
    flow["pin_data"] = {"Hook": items}
    editor = open_editor("Borrowed refs", flow)
    page = editor.page
    ndv = _open_details(editor)
    stock = ndv.get_by_test_id("ndv-file").filter(has_text="stock.csv")
    downloads = []
    page.on("download", lambda download: downloads.append(download))
    stock.get_by_role("button", name="Download stock.csv").click()
    expect(page.get_by_text(re.compile(r"^Execution \S+ not found")).first).to_be_visible()
    stock.get_by_role("button", name="View stock.csv").click()
    expect(page.get_by_test_id("ndv-file-text")).to_have_count(0)
    assert downloads == []
