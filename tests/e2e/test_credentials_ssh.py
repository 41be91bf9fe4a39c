"""An SSH credential made in the credentials console in Chromium and tested against the real sshd of
`infra.sh up ssh`: the private key pasted into the form's password box (which drops its line breaks), the
first Test showing the host key the server presents, the second passing once that fingerprint is saved.

The app may reach only 127.0.0.2 on loopback (conftest's LINKFLOW_HTTP_ALLOW_LIST) and sshd listens on
127.0.0.1, so a small TCP relay on 127.0.0.2 forwards to it.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import PARTNER_HOST, partner_relay, service_missing
from playwright.sync_api import Page, expect

from nodes.builtin._ssh import normalized_fingerprint


def _sshd() -> dict:
    names = ("HOST", "PORT", "USER", "KEY_FILE", "HOST_KEY_FILE")
    values = {n: os.environ.get(f"LINKFLOW_TEST_SSH_{n}") for n in names}
    if not all(values.values()):
        service_missing("LINKFLOW_TEST_SSH_* are not set: run `bash deploy/local/infra.sh up ssh` and its `env ssh`")
    return values


@pytest.fixture
def relay() -> Iterator[tuple[int, dict]]:
    sshd = _sshd()
    with partner_relay(sshd["HOST"], int(sshd["PORT"])) as port:
        yield port, sshd


def test_an_ssh_credential_is_made_tested_and_its_host_key_pinned(signed_in_page: Page, base_url: str, account,
                                                                  relay):
    port, sshd = relay
    key = Path(sshd["KEY_FILE"]).read_text()
    fingerprint = normalized_fingerprint(Path(sshd["HOST_KEY_FILE"]).read_text())
    page = signed_in_page
    page.goto(base_url + "/credentials")
    page.get_by_role("button", name="New credential").click()
    page.get_by_role("button", name="Choose SSH").click()
    page.get_by_label("Credential name").fill("Backup box")
    page.get_by_label("Host", exact=True).fill(PARTNER_HOST)
    page.get_by_label("Port").fill(str(port))
    page.get_by_label("Username").fill(sshd["USER"])
    page.get_by_label("Private key").fill(key)  # a password box: the browser drops the line breaks
    expect(page.get_by_label("Private key")).to_have_attribute("type", "password")
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.get_by_role("dialog")).to_have_count(0)

    row = page.get_by_test_id("credential-row").filter(has_text="Backup box")
    page.get_by_role("button", name="Test Backup box").click()
    expect(row.get_by_test_id("test-result")).to_contain_text(f"presented host key {fingerprint} (ssh-ed25519)")
    assert "PRIVATE KEY" not in page.content() and "PRIVATE KEY" not in account.api.get("/credentials").text

    page.get_by_role("button", name="Actions for Backup box").click()
    page.get_by_role("menuitem", name="Edit").click()
    page.get_by_label("Host key fingerprint").fill(fingerprint)
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.get_by_role("dialog")).to_have_count(0)
    page.get_by_role("button", name="Test Backup box").click()
    expect(row.get_by_test_id("test-result")).to_contain_text(
        f"logged in to {PARTNER_HOST}:{port} as {sshd['USER']} (SSH-2.0-OpenSSH_")
