"""A file uploaded through a webhook: listed in the execution's data browser and downloaded from there."""

from __future__ import annotations

import os
import time
import uuid

import httpx
from playwright.sync_api import Page, expect

PDF = b"%PDF-1.7\n" + os.urandom(4096)


def test_an_uploaded_file_is_listed_in_the_data_browser_and_downloads(signed_in_page: Page, base_url: str,
                                                                       account):
    page, path = signed_in_page, f"upload-{uuid.uuid4().hex[:8]}"
    definition = {"nodes": [{"id": "hook", "name": "Webhook", "type": "webhook", "position": [0, 0],
                             "parameters": {"path": path, "method": "POST"}}], "connections": []}
    workflow = account.api.post("/workflows", json={"name": "Uploads", "definition": definition})
    assert workflow.status_code == 201, workflow.text
    assert account.api.post(f"/workflows/{workflow.json()['id']}/activate").status_code == 200
    answer = httpx.post(f"{base_url}/webhook/{path}", data={"note": "march"},
                        files={"invoice": ("invoice-march.pdf", PDF, "application/pdf")}, timeout=30)
    assert answer.status_code == 202, answer.text  # the Webhook node answers at once by default
    execution_id = answer.json()["execution_id"]
    deadline = time.monotonic() + 30
    while account.api.get(f"/executions/{execution_id}").json()["status"] != "succeeded":
        assert time.monotonic() < deadline, "the execution did not finish"
        time.sleep(0.2)

    page.goto(f"{base_url}/executions/{execution_id}")
    row = page.get_by_test_id("file-row")
    expect(row).to_have_count(1, timeout=15_000)
    expect(row).to_contain_text("invoice-march.pdf")
    expect(row).to_contain_text("application/pdf")
    expect(row).to_contain_text("4.0 kB")
    with page.expect_download() as download:
        row.get_by_role("button", name="Download").click()
    assert download.value.suggested_filename == "invoice-march.pdf"
    with open(download.value.path(), "rb") as saved:
        assert saved.read() == PDF
