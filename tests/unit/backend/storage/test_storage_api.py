"""/api/v1/storage: signed download links, for the team's own files only."""

from __future__ import annotations

import time
from datetime import timedelta

from executions_testkit import add_execution

from backend.db.base import utcnow
from backend.storage import keys, links
from backend.storage.service import get_storage

URL = "/api/v1/storage"


def stored(team_id: str, data: bytes = b"%PDF-1.7 report") -> dict:
    execution_id = add_execution(team_id, created_at=utcnow() - timedelta(minutes=1))
    ref = {"id": "f" * 32, "execution_id": execution_id, "file_name": "report ä.pdf", "mime_type": "application/pdf"}
    get_storage().put(keys.binary_key(team_id, execution_id, ref["id"]), data)
    return ref


def test_a_member_gets_a_link_that_serves_the_file_as_an_attachment(api, api_user):
    owner = api_user("owner@example.com")
    ref = stored(owner.team_id)
    link = api.post(f"{URL}/links", json=ref, headers=owner.headers)
    assert link.status_code == 200, link.text
    assert link.json()["size"] == 15
    answer = api.get(link.json()["url"])  # no token header: the signature is the permission
    assert answer.status_code == 200 and answer.content == b"%PDF-1.7 report"
    assert answer.headers["content-type"] == "application/pdf"
    assert answer.headers["content-disposition"] == "attachment; filename*=UTF-8''report%20%C3%A4.pdf"
    assert answer.headers["x-content-type-options"] == "nosniff"
    assert answer.headers["content-security-policy"].startswith("sandbox")


def test_another_teams_file_is_not_found_and_its_links_cannot_be_forged(api, api_user):
    owner, other = api_user("owner@example.com"), api_user("other@example.com")
    ref = stored(owner.team_id)
    assert api.post(f"{URL}/links", json=ref, headers=other.headers).status_code == 404
    missing = {**ref, "id": "e" * 32}
    assert api.post(f"{URL}/links", json=missing, headers=owner.headers).status_code == 404
    assert api.post(f"{URL}/links", json={**ref, "id": "../../x"}, headers=owner.headers).status_code == 422
    assert api.post(f"{URL}/links", json=ref).status_code == 401

    token = api.post(f"{URL}/links", json=ref, headers=owner.headers).json()["url"].rsplit("/", 1)[1]
    payload, mac = token.split(".")
    grant = links.verify(token)
    forged = links.Grant(other.team_id, grant.execution_id, grant.binary_id, "", "", grant.expires)
    forged_payload = links.sign(forged).split(".")[0]
    for bad in (f"{forged_payload}.{mac}", f"{payload}.{'0' * 64}", payload, "x.y", "a."):
        assert api.get(f"{URL}/download/{bad}").status_code == 403, bad


def test_an_expired_link_is_refused_and_a_deleted_file_is_gone(api, api_user, monkeypatch):
    owner = api_user("owner@example.com")
    ref = stored(owner.team_id)
    url = api.post(f"{URL}/links", json=ref, headers=owner.headers).json()["url"]
    later = time.time() + links.LINK_SECONDS + 1
    monkeypatch.setattr(links.time, "time", lambda: later)
    assert api.get(url).status_code == 403
    monkeypatch.undo()
    get_storage().delete_prefix(keys.execution_prefix(owner.team_id, ref["execution_id"]))
    assert api.get(url).status_code == 404


def test_an_html_upload_is_never_served_as_a_page(api, api_user):
    owner = api_user("owner@example.com")
    ref = {**stored(owner.team_id, b"<script>alert(1)</script>"), "mime_type": "text/html",
           "file_name": "x.html\r\nSet-Cookie: a=b"}
    answer = api.get(api.post(f"{URL}/links", json=ref, headers=owner.headers).json()["url"])
    assert answer.headers["content-disposition"].startswith("attachment;")
    assert "set-cookie" not in answer.headers and answer.headers["x-content-type-options"] == "nosniff"
    weird = {**ref, "mime_type": "text/html\r\nX-Evil: 1"}
    answer = api.get(api.post(f"{URL}/links", json=weird, headers=owner.headers).json()["url"])
    assert answer.headers["content-type"] == "application/octet-stream" and "x-evil" not in answer.headers


def test_a_text_file_previews_its_start_for_the_team_only(api, api_user):
    owner, other = api_user("owner@example.com"), api_user("other@example.com")
    body = ("é" * 40_000).encode()  # 80,000 bytes: past the 64 KiB shown, cut inside a character
    ref = {**stored(owner.team_id, body), "mime_type": "text/csv"}
    answer = api.post(f"{URL}/preview", json=ref, headers=owner.headers)
    assert answer.status_code == 200, answer.text
    shown = answer.json()
    assert shown["kind"] == "text" and shown["truncated"] is True and shown["size"] == 80_000
    assert shown["text"] == "é" * 32_768  # 65,536 bytes, whole characters only
    assert api.post(f"{URL}/preview", json=ref, headers=other.headers).status_code == 404
    assert api.post(f"{URL}/preview", json=ref).status_code == 401
    assert api.post(f"{URL}/preview", json={**ref, "id": "e" * 32}, headers=owner.headers).status_code == 404
    assert api.post(f"{URL}/preview", json={**ref, "execution_id": "../x"}, headers=owner.headers).status_code == 422
    small = {**stored(owner.team_id, b'{"a": 1}\x00\xff'), "mime_type": "application/json"}
    whole = api.post(f"{URL}/preview", json=small, headers=owner.headers).json()
    assert whole == {"kind": "text", "text": '{"a": 1}\ufffd\ufffd', "truncated": False, "size": 10, "pages": None}


def test_a_pdf_previews_its_first_page_and_other_files_have_no_preview(api, api_user):
    from tests.unit.nodes.test_extract_from_file import pdf_with_text

    owner = api_user("owner@example.com")
    ref = stored(owner.team_id, pdf_with_text("Invoice 42"))
    answer = api.post(f"{URL}/preview", json=ref, headers=owner.headers)
    assert answer.status_code == 200, answer.text
    assert answer.json()["kind"] == "pdf" and answer.json()["pages"] == 1 and "Invoice 42" in answer.json()["text"]

    broken = stored(owner.team_id, b"%PDF-1.7 garbage")
    refused = api.post(f"{URL}/preview", json=broken, headers=owner.headers)
    assert refused.status_code == 422 and "not a readable PDF" in refused.json()["error"]["message"]
    image = api.post(f"{URL}/preview", json={**ref, "mime_type": "image/png"}, headers=owner.headers)
    assert image.status_code == 422 and "have no preview" in image.json()["error"]["message"]
