"""Files uploaded through a webhook: listed in the execution's data browser, an image, a PDF and a text
file previewed, a file downloaded from there."""

from __future__ import annotations

import base64
import time
import uuid

import httpx
import pytest
from playwright.sync_api import Page, expect

from tests.unit.nodes.test_extract_from_file import pdf_with_text
from ui.executions.view import file_size

PDF = pdf_with_text("Invoice March 2026")
CSV = ("sku,qty\n" + "".join(f"item-{n},{n}\n" for n in range(10_000))).encode()  # ~110 kB: past the 64 kB shown
PNG = base64.b64decode("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==")


@pytest.fixture(autouse=True)
def no_page_errors(page: Page):
    """An uncaught error in the browser (a crash, a hydration mismatch) fails the test."""
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    yield
    assert errors == []


def test_an_uploaded_file_is_listed_in_the_data_browser_and_downloads(signed_in_page: Page, base_url: str,
                                                                       account):
    page, path = signed_in_page, f"upload-{uuid.uuid4().hex[:8]}"
    definition = {"nodes": [{"id": "hook", "name": "Webhook", "type": "webhook", "position": [0, 0],
                             "parameters": {"path": path, "method": "POST"}}], "connections": []}
    workflow = account.api.post("/workflows", json={"name": "Uploads", "definition": definition})
    assert workflow.status_code == 201, workflow.text
    assert account.api.post(f"/workflows/{workflow.json()['id']}/activate").status_code == 200
    answer = httpx.post(f"{base_url}/webhook/{path}", data={"note": "march"},
                        files={"invoice": ("invoice-march.pdf", PDF, "application/pdf"),
                               "photo": ("shelf.png", PNG, "image/png"),
                               "stock": ("stock.csv", CSV, "text/csv")}, timeout=30)
    assert answer.status_code == 202, answer.text  # the Webhook node answers at once by default
    execution_id = answer.json()["execution_id"]
    deadline = time.monotonic() + 30
    while account.api.get(f"/executions/{execution_id}").json()["status"] != "succeeded":
        assert time.monotonic() < deadline, "the execution did not finish"
        time.sleep(0.2)

    page.goto(f"{base_url}/executions/{execution_id}")
    rows = page.get_by_test_id("file-row")
    expect(rows).to_have_count(3, timeout=15_000)
    row, photo = rows.filter(has_text="invoice-march.pdf"), rows.filter(has_text="shelf.png")
    row.get_by_role("button", name="Preview").click()  # the first page's text, read by the server
    text = page.get_by_test_id("file-preview-text")
    expect(text).to_contain_text("Invoice March 2026")
    expect(page.get_by_test_id("file-preview-note")).to_have_text("The text of page 1 of 1")
    page.get_by_role("button", name="Close").click()
    expect(text).to_have_count(0)
    rows.filter(has_text="stock.csv").get_by_role("button", name="Preview").click()
    expect(text).to_contain_text("sku,qty")
    expect(text).to_contain_text("item-1,1")
    expect(text).not_to_contain_text("item-9999")  # only the start of the file
    expect(page.get_by_test_id("file-preview-note")).to_have_text(f"The first 64.0 kB of {file_size(len(CSV))}")
    page.get_by_role("button", name="Close").click()
    photo.get_by_role("button", name="Preview").click()
    image = page.get_by_test_id("file-preview")
    expect(image).to_be_visible()
    page.wait_for_function("el => el.complete && el.naturalWidth === 1", arg=image.element_handle())
    page.get_by_role("button", name="Close").click()
    expect(image).to_have_count(0)
    expect(row).to_contain_text("application/pdf")
    expect(row).to_contain_text(file_size(len(PDF)))
    with page.expect_download() as download:
        row.get_by_role("button", name="Download").click()
    assert download.value.suggested_filename == "invoice-march.pdf"
    with open(download.value.path(), "rb") as saved:
        assert saved.read() == PDF
