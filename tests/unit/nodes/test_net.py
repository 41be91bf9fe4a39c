"""nodes/sdk/net.py: resolving, checking and connecting to the checked address, with real sockets."""

import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

from nodes.sdk import NodeUserError
from nodes.sdk.net import (
    AddressPolicy,
    AddressRefused,
    AsyncGuardedTransport,
    GuardedTransport,
    checked_addresses,
    checked_addresses_async,
    open_connection,
)

LOOPBACK_ALLOWED = AddressPolicy.from_settings({"http_allow_list": "127.0.0.0/8"})


class _Echo(BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802
        body = f"{self.headers['Host']} via {self.server.server_address[0]}".encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def echo():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Echo)
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


@pytest.fixture
def rebinding_dns(monkeypatch):
    """rebind.test answers 127.0.0.1 once, then 10.255.255.1 (where nothing answers) to every later lookup."""
    real, answers = socket.getaddrinfo, []

    def getaddrinfo(host, port, *args, **kwargs):
        if host != "rebind.test":
            return real(host, port, *args, **kwargs)
        address = "127.0.0.1" if not answers else "10.255.255.1"
        answers.append(address)
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port or 0))]

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return answers


@pytest.mark.parametrize(("host", "expected"), [
    ("127.0.0.1", ["127.0.0.1"]), ("[::1]", ["::1"]), ("2130706433", ["127.0.0.1"]), ("0x7f.1", ["127.0.0.1"]),
])
def test_every_spelling_resolves_to_the_address_it_means(host, expected):
    assert checked_addresses(host, 80, AddressPolicy(allow_private=True)) == expected


@pytest.mark.parametrize("host", ["2130706433", "0177.0.0.1", "localhost", "::ffff:127.0.0.1", "[::1]"])
async def test_loopback_in_any_spelling_is_refused_sync_and_async(host):
    with pytest.raises(AddressRefused, match="a loopback address; LinkFlow does not connect there"):
        checked_addresses(host, 80, AddressPolicy())
    with pytest.raises(AddressRefused, match="a loopback address"):
        await checked_addresses_async(host, 80, AddressPolicy())


def test_a_refusal_is_a_user_error_naming_what_to_set():
    with pytest.raises(AddressRefused) as refused:
        checked_addresses("10.0.0.7", 5432, AddressPolicy())
    assert isinstance(refused.value, NodeUserError) and refused.value.retryable is False
    assert refused.value.details == {"host": "10.0.0.7", "address": "10.0.0.7", "class": "private"}
    assert "LINKFLOW_HTTP_ALLOW_PRIVATE=true" in refused.value.message


def test_allow_list_names_and_domains():
    policy = AddressPolicy.from_settings({"http_allow_list": "localhost, .corp.example"})
    assert checked_addresses("localhost", 80, policy) == ["127.0.0.1"]
    assert policy.host_allowed("db.corp.example") and policy.host_allowed("corp.example")
    assert not policy.host_allowed("corp.example.evil")


def test_an_unknown_host_is_a_user_error():
    with pytest.raises(NodeUserError, match="unknown host 'nothing-here.invalid'"):
        checked_addresses("nothing-here.invalid", 80, AddressPolicy())


def test_open_connection_tries_the_next_address_when_one_refuses(echo):
    with socket.socket() as closed:
        closed.bind(("127.0.0.2", 0))  # bound, never listening: connecting to it is refused
        sock = open_connection([closed.getsockname()[0], "127.0.0.1"], echo, 2)
    with sock:
        assert sock.getpeername() == ("127.0.0.1", echo)


def test_guarded_transport_connects_to_the_checked_address_not_a_second_dns_answer(echo, rebinding_dns):
    with httpx.Client(transport=GuardedTransport(LOOPBACK_ALLOWED), trust_env=False, timeout=5) as client:
        answer = client.get(f"http://rebind.test:{echo}/")
    assert answer.text == f"rebind.test:{echo} via 127.0.0.1"  # the name in Host, the checked address connected
    assert rebinding_dns == ["127.0.0.1"]  # resolved once, for the check


async def test_async_guarded_transport_checks_every_request_and_keeps_the_host_header(echo):
    transport = AsyncGuardedTransport(AddressPolicy.from_settings({"http_allow_list": "localhost"}))
    async with httpx.AsyncClient(transport=transport, trust_env=False, timeout=5) as client:
        answer = await client.get(f"http://localhost:{echo}/")
        assert answer.text == f"localhost:{echo} via 127.0.0.1"
        with pytest.raises(AddressRefused, match="refused to connect to 127.0.0.1: it is a loopback address"):
            await client.get(f"http://127.0.0.1:{echo}/")  # the allowed name does not allow the address itself
