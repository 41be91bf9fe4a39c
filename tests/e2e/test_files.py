"""Files uploaded through a webhook: listed in the execution's data browser, an image previewed, a file
downloaded from there."""

from __future__ import annotations

import base64
import os
import time
import uuid

import httpx
import pytest
from playwright.sync_api import Page, expect

PDF = b"%PDF-1.7\n" + os.urandom(4096)
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
                               "photo": ("shelf.png", PNG, "image/png")}, timeout=30)
    assert answer.status_code == 202, answer.text  # the Webhook node answers at once by default
    execution_id = answer.json()["execution_id"]
    deadline = time.monotonic() + 30
    while account.api.get(f"/executions/{execution_id}").json()["status"] != "succeeded":
        assert time.monotonic() < deadline, "the execution did not finish"
        time.sleep(0.2)

    page.goto(f"{base_url}/executions/{execution_id}")
    rows = page.get_by_test_id("file-row")
    expect(rows).to_have_count(2, timeout=15_000)
    row, photo = rows.filter(has_text="invoice-march.pdf"), rows.filter(has_text="shelf.png")
    expect(row.get_by_role("button", name="Preview")).to_have_count(0)  # only images are previewed
    photo.get_by_role("button", name="Preview").click()
    image = page.get_by_test_id("file-preview")
    expect(image).to_be_visible()
    page.wait_for_function("el => el.complete && el.naturalWidth === 1", arg=image.element_handle())
    page.get_by_role("button", name="Close").click()
    expect(image).to_have_count(0)
    expect(row).to_contain_text("application/pdf")
    expect(row).to_contain_text("4.0 kB")
    with page.expect_download() as download:
        row.get_by_role("button", name="Download").click()
    assert download.value.suggested_filename == "invoice-march.pdf"
    with open(download.value.path(), "rb") as saved:
        assert saved.read() == PDF
