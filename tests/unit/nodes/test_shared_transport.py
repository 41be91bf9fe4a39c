"""HTTP Request runs on one event loop share connections (nodes/sdk/net.py ``shared_transport``): the next run's
request to the same host goes over the connection the last one left open, closing a run's client leaves it open,
another address policy never gets it, every request is still checked, and the host pools kept are bounded.
Against a real HTTP/1.1 server on loopback addresses that counts the connections it accepts."""

from __future__ import annotations

import asyncio
import json

import pytest

from nodes.builtin.http_request import HttpRequest
from nodes.sdk import NodeUserError, net
from nodes.sdk.testing import run_node

ALLOW = {"http_allow_private": True}


class CountingServer:
    """Answers every request with {"n": <its connection's number>}; keeps connections open (HTTP/1.1)."""

    def __init__(self) -> None:
        self.accepted = 0
        self.closed = 0
        self.server: asyncio.Server | None = None
        self.port = 0

    async def start(self, hosts: list[str]) -> None:
        self.server = await asyncio.start_server(self._serve, host=hosts, port=0)
        self.port = self.server.sockets[0].getsockname()[1]

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.accepted += 1
        number = self.accepted
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = next((int(line.split(b":", 1)[1]) for line in head.split(b"\r\n")
                               if line.lower().startswith(b"content-length:")), 0)
                await reader.readexactly(length)
                body = json.dumps({"n": number}).encode()
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                             b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            self.closed += 1
            writer.close()

    async def stop(self) -> None:
        self.server.close()


@pytest.fixture
async def server():
    servers = {}  # one per loopback address, each on a port of its own
    for host in ("127.0.0.1", "127.0.0.2", "127.0.0.3"):
        servers[host] = CountingServer()
        await servers[host].start([host])
    yield servers
    for each in servers.values():
        await each.stop()


async def call(url: str, settings: dict | None = None) -> int:
    out = await run_node(HttpRequest, [{"json": {}}], params={"url": url}, settings=ALLOW if settings is None else settings)
    return out["main"][0]["json"]["body"]["n"]


async def test_the_next_run_reuses_the_connection_the_last_one_left_open(server):
    one = server["127.0.0.1"]
    url = f"http://127.0.0.1:{one.port}/x"

    answers = [await call(url) for _ in range(5)]  # five runs, each with its own client, closed after it

    assert answers == [1, 1, 1, 1, 1]
    assert (one.accepted, one.closed) == (1, 0)


async def test_runs_under_another_address_policy_never_get_its_connections(server):
    one = server["127.0.0.1"]
    url = f"http://127.0.0.1:{one.port}/x"

    first = await call(url, ALLOW)
    other = await call(url, {"http_allow_list": "127.0.0.1"})  # allowed by a list instead: another policy
    again = await call(url, ALLOW)

    assert (first, other, again) == (1, 2, 1)
    assert one.accepted == 2


async def test_every_request_is_still_checked(server):
    one = server["127.0.0.1"]
    url = f"http://127.0.0.1:{one.port}/x"
    assert await call(url) == 1

    with pytest.raises(NodeUserError, match="loopback"):
        await call(url, {})  # the default policy: no connection is made, shared or new
    assert one.accepted == 1


async def test_past_the_bound_the_least_recently_used_idle_host_is_closed(server, monkeypatch):
    monkeypatch.setattr(net, "SHARED_HOSTS", 2)
    a, b, c = server["127.0.0.1"], server["127.0.0.2"], server["127.0.0.3"]

    await call(f"http://127.0.0.1:{a.port}/x")
    await call(f"http://127.0.0.2:{b.port}/x")
    await call(f"http://127.0.0.1:{a.port}/x")  # a used last: b is the least recently used
    await call(f"http://127.0.0.3:{c.port}/x")  # a third host: b's pool is closed
    for _ in range(100):
        if b.closed:
            break
        await asyncio.sleep(0.01)

    assert (a.accepted, a.closed) == (1, 0)
    assert (b.accepted, b.closed) == (1, 1)
    assert (c.accepted, c.closed) == (1, 0)
    assert await call(f"http://127.0.0.2:{b.port}/x") == 2  # back again: a new connection
