"""A run's files go to storage under its team and execution: HTTP Request binary answers, file nodes."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from backend.engine import ExecutionInfo, NullStepStore, run
from backend.executions.services_factory import engine_services
from backend.storage import keys
from backend.storage.ports import read_all
from backend.storage.service import get_storage

PAYLOAD = bytes(range(256)) * 8192  # 2 MB: spooled to a file on the way


class Files(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def do_GET(self):  # noqa: N802
        self.send_response(200)
        self.send_header("Content-Type", "application/pdf")
        self.send_header("Content-Length", str(len(PAYLOAD)))
        self.end_headers()
        self.wfile.write(PAYLOAD)


@pytest.fixture
def server(configure):
    configure(HTTP_ALLOW_PRIVATE="true")
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Files)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


async def test_http_request_binary_answers_and_file_nodes_store_under_the_execution(server):
    team, execution = "team-a", "a" * 32
    definition = {"name": "files", "nodes": [
        {"id": "t", "name": "Start", "type": "manual_trigger", "version": 1, "position": [0, 0]},
        {"id": "h", "name": "Fetch", "type": "http_request", "version": 1, "position": [1, 0],
         "parameters": {"url": f"{server}/report.pdf", "response_format": "binary"}},
        {"id": "z", "name": "Zip", "type": "compression", "version": 1, "position": [2, 0], "parameters": {}}],
        "connections": [{"from": "t", "to": "h"}, {"from": "h", "to": "z"}]}
    result = await run(definition, execution=ExecutionInfo(id=execution), input_items=[{"json": {}}],
                       store=NullStepStore(), services=engine_services(team, execution, definition))
    assert result.status == "succeeded", result.error
    archive = result.output[0]["binary"]["data"]
    assert archive["execution_id"] == execution and archive["file_name"] == "archive.zip"
    stored = {o.key for o in get_storage().list(keys.execution_prefix(team, execution))}
    assert len(stored) == 2  # the download and the zip, nothing anywhere else
    pdf_key = next(k for k in stored if not k.endswith(archive["id"]))
    assert read_all(get_storage(), pdf_key) == PAYLOAD
