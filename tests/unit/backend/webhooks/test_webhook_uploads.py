"""Uploads through a webhook go to storage through a temporary file, up to their own limit."""

from __future__ import annotations

import hashlib
import hmac
import os
import time

from webhook_testkit import execution_count, executions, flow, hook

from backend.db.session import session_scope
from backend.executions.models import ExecutionStep
from backend.executions.sql_store import resolve_payload
from backend.storage import keys
from backend.storage.ports import read_all
from backend.storage.service import get_storage
from backend.webhooks import intake

MB = 1024 * 1024


def stored_file(execution, ref) -> bytes:
    return read_all(get_storage(), keys.binary_key(execution.team_id, execution.id, ref["id"]))


def hook_item(execution_id: str) -> dict:
    with session_scope() as session:
        step = session.query(ExecutionStep).filter_by(execution_id=execution_id, node_id="hook").one()
        return resolve_payload(step.output, step.output_ref)["main"][0]


def test_a_multipart_file_past_a_megabyte_is_spooled_and_stored_whole(api, deploy, monkeypatch):
    deploy(flow(hook("upload")))
    seen = []
    original = intake._spooled
    monkeypatch.setattr(intake, "_spooled", lambda body: seen.append(body.size) or original(body))
    data = os.urandom(3 * MB)
    answer = api.post("/webhook/upload", data={"note": "scan"}, files={"scan": ("scan.bin", data, "x/y")})
    assert answer.status_code == 200, answer.text
    assert answer.json()["body"] == {"note": "scan"} and len(seen) == 1 and seen[0] > 3 * MB
    [execution] = executions(mode="webhook")
    ref = hook_item(execution.id)["binary"]["scan"]
    assert ref["size"] == 3 * MB and stored_file(execution, ref) == data


def test_an_upload_past_the_body_limit_is_stored_only_up_to_the_file_limit(api, deploy, configure):
    deploy(flow(hook("raw")))
    configure(HTTP_WEBHOOK_BODY_LIMIT_BYTES=str(MB), HTTP_WEBHOOK_FILE_LIMIT_BYTES=str(4 * MB))
    data = os.urandom(3 * MB)
    answer = api.post("/webhook/raw", content=data, headers={"Content-Type": "application/octet-stream"})
    assert answer.status_code == 200, answer.text
    assert answer.json()["body"] is None  # too large to inline: the file only
    [execution] = executions(mode="webhook")
    ref = hook_item(execution.id)["binary"]["data"]
    assert ref["mime_type"] == "application/octet-stream" and stored_file(execution, ref) == data

    too_big = api.post("/webhook/raw", content=os.urandom(5 * MB), headers={"Content-Type": "application/zip"})
    assert too_big.status_code == 413 and "LINKFLOW_HTTP_WEBHOOK_FILE_LIMIT_BYTES" in too_big.text

    def chunked():  # no Content-Length: counted as it arrives
        for _ in range(5):
            yield b"\0" * MB

    assert api.post("/webhook/raw", content=chunked(), headers={"Content-Type": "image/png"}).status_code == 413
    assert execution_count() == 1


def test_the_file_limit_does_not_widen_the_limit_of_json_form_or_text(api, deploy, configure):
    deploy(flow(hook("raw")))
    configure(HTTP_WEBHOOK_BODY_LIMIT_BYTES=str(MB), HTTP_WEBHOOK_FILE_LIMIT_BYTES=str(8 * MB))
    for content_type in ("application/json", "text/plain", "application/x-www-form-urlencoded"):
        answer = api.post("/webhook/raw", content=b" " * (2 * MB), headers={"Content-Type": content_type})
        assert answer.status_code == 413, content_type
    big_field = api.post("/webhook/raw", data={"field": "x" * (2 * MB)},
                         files={"f": ("f.txt", b"small", "text/plain")})
    assert big_field.status_code == 400  # a form field past the body limit, even inside an upload
    assert execution_count() == 0


def test_an_upload_between_a_megabyte_and_the_body_limit_reads_as_before(api, deploy):
    deploy(flow(hook("raw")))
    text = ("é" * MB).encode()  # 2 MB of UTF-8 in a file type: the text, as for small bodies
    assert api.post("/webhook/raw", content=text, headers={"Content-Type": "application/xml"}).json()["body"] == \
        "é" * MB


def test_hmac_is_checked_over_a_spooled_upload(api, deploy, configure):
    deploy(flow(hook("signed", auth="hmac", hmac_secret="s3cret", timestamp_tolerance_s=300)))
    data, stamp = os.urandom(2 * MB), str(int(time.time()))
    digest = hmac.new(b"s3cret", stamp.encode() + b"." + data, hashlib.sha256).hexdigest()
    headers = {"Content-Type": "application/octet-stream", "X-Timestamp": stamp}
    good = api.post("/webhook/signed", content=data, headers={**headers, "X-Signature": f"sha256={digest}"})
    assert good.status_code == 200, good.text
    bad = api.post("/webhook/signed", content=data[:-1] + b"!", headers={**headers, "X-Signature": digest})
    assert bad.status_code == 401
    assert execution_count() == 1
