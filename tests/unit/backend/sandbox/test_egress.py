"""Network for sandboxed code: none by default; when allowed, only through the address-checking proxy."""

from __future__ import annotations

import http.server
import socket
import threading

import pytest
from sandbox_testkit import run_code_node

from backend.sandbox.egress import parse_request

FETCH = """
import os, socket, urllib.request, urllib.error
out = {'proxy': os.environ.get('HTTP_PROXY')}
try:
    with urllib.request.urlopen(items[0]['json']['url'], timeout=5) as response:
        out['status'], out['body'] = response.status, response.read().decode()
except urllib.error.HTTPError as exc:
    out['status'], out['body'] = exc.code, exc.read().decode()
except OSError as exc:
    out['status'], out['body'] = None, type(exc).__name__
try:
    socket.create_connection(('127.0.0.1', items[0]['json']['port']), timeout=2)
    out['direct'] = 'connected'
except OSError as exc:
    out['direct'] = type(exc).__name__
return out
"""


@pytest.fixture
def host_server():
    """An HTTP server on the host's loopback that records the paths it was asked for."""
    seen = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            seen.append((self.path, self.headers["Host"]))
            body = b"hello from the host"
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server.server_address[1], seen
    server.shutdown()
    server.server_close()


async def test_by_default_there_is_no_network_at_all(configure, host_server):
    port, seen = host_server
    configure(CODE_SANDBOX="bwrap")
    out = await run_code_node(FETCH, [{"json": {"url": f"http://127.0.0.1:{port}/secret", "port": port}}])
    assert out == {"proxy": None, "status": None, "body": "URLError", "direct": "ConnectionRefusedError"}
    assert seen == []


async def test_allowed_network_still_refuses_internal_addresses(configure, host_server):
    port, seen = host_server
    configure(CODE_SANDBOX="bwrap", CODE_ALLOW_NETWORK="true")
    out = await run_code_node(FETCH, [{"json": {"url": f"http://127.0.0.1:{port}/admin", "port": port}}])
    assert out["proxy"].startswith("http://127.0.0.1:")
    assert out["status"] == 403
    assert "refused to connect to 127.0.0.1: it is a loopback address" in out["body"]
    assert "LINKFLOW_HTTP_ALLOW_LIST" in out["body"]
    assert out["direct"] == "ConnectionRefusedError"  # no way around the proxy
    assert seen == []


async def test_the_allow_list_opens_a_host_by_name_through_the_proxy(configure, host_server):
    port, seen = host_server
    configure(CODE_SANDBOX="bwrap", CODE_ALLOW_NETWORK="true", HTTP_ALLOW_LIST="127.0.0.1")
    out = await run_code_node(FETCH, [{"json": {"url": f"http://localhost:{port}/data?x=1", "port": port}}])
    assert (out["status"], out["body"]) == (200, "hello from the host")  # the proxy resolved localhost
    assert seen == [("/data?x=1", f"localhost:{port}")]
    assert out["direct"] == "ConnectionRefusedError"


async def test_connect_tunnels_any_tcp_to_an_allowed_address(configure):
    echo = socket.create_server(("127.0.0.1", 0))
    port = echo.getsockname()[1]

    def serve_once():
        connection, _ = echo.accept()
        with connection:
            connection.sendall(connection.recv(100).upper())

    threading.Thread(target=serve_once, daemon=True).start()
    configure(CODE_SANDBOX="bwrap", CODE_ALLOW_NETWORK="true", HTTP_ALLOW_PRIVATE="true")
    code = """
        import os, socket
        host, port = os.environ['HTTPS_PROXY'].rsplit(':', 1)
        tunnel = socket.create_connection((host.split('//')[1], int(port)), timeout=5)
        tunnel.sendall(f"CONNECT 127.0.0.1:{items[0]['json']['port']} HTTP/1.1\\r\\n\\r\\n".encode())
        answer = tunnel.recv(100)
        tunnel.sendall(b'ping')
        return {'answer': answer.decode(), 'echo': tunnel.recv(100).decode()}
    """
    try:
        out = await run_code_node(code, [{"json": {"port": port}}])
    finally:
        echo.close()
    assert out == {"answer": "HTTP/1.1 200 Connection established\r\n\r\n", "echo": "PING"}


def test_only_proxy_requests_are_understood():
    with pytest.raises(ValueError, match="CONNECT needs host:port"):
        parse_request(b"CONNECT example.com HTTP/1.1\r\n\r\n")
    with pytest.raises(ValueError, match="absolute URLs"):
        parse_request(b"GET /relative HTTP/1.1\r\nHost: x\r\n\r\n")
    method, host, port, head = parse_request(
        b"GET http://example.com:8080/a?b=1 HTTP/1.1\r\nHost: example.com:8080\r\nProxy-Authorization: x\r\n"
        b"Connection: keep-alive\r\n\r\n")
    assert (method, host, port) == ("GET", "example.com", 8080)
    assert head == b"GET /a?b=1 HTTP/1.1\r\nHost: example.com:8080\r\nConnection: close\r\n\r\n"
