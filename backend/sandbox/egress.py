"""Network for sandboxed code, when an administrator allows it: an HTTP proxy outside the sandbox.

The sandbox keeps its own empty network namespace. Each run that may use the network gets
a unix socket bound into it at ``EGRESS_SOCKET``; the runner listens on 127.0.0.1 inside
and relays to it, and points ``HTTP_PROXY``/``HTTPS_PROXY`` there. This proxy reads one
request per connection — ``CONNECT host:port`` (HTTPS and other TCP) or an absolute-URL
HTTP request — resolves the host, checks every address with the HTTP Request node's
policy (private, loopback and link-local refused unless ``LINKFLOW_HTTP_ALLOW_PRIVATE`` or
``LINKFLOW_HTTP_ALLOW_LIST`` say otherwise) and connects to the checked address, so a DNS
answer that changes in between cannot slip an internal address in.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import tempfile
from collections.abc import AsyncIterator

import httpx

from nodes.sdk import NodeError
from nodes.sdk.net import AddressPolicy, checked_addresses_async

EGRESS_SOCKET = "/run/linkflow/egress.sock"  # where the socket appears inside the sandbox
HEAD_LIMIT = 64 * 1024
HEAD_TIMEOUT_S = 10.0
CONNECT_TIMEOUT_S = 10.0
_HOP_HEADERS = (b"proxy-connection", b"proxy-authorization", b"connection", b"keep-alive")


class EgressProxy:
    def __init__(self, policy: AddressPolicy, owner_uid: int | None = None) -> None:
        self.policy = policy
        self.owner_uid = owner_uid  # who must be able to connect (the sandbox uid when we are root)

    @contextlib.asynccontextmanager
    async def serve(self) -> AsyncIterator[str]:
        """Listen for one run; yields the socket's path. Leaving closes every connection."""
        directory = tempfile.mkdtemp(prefix="linkflow-egress-")
        path = os.path.join(directory, "egress.sock")
        connections: set[asyncio.Task] = set()

        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            task = asyncio.current_task()
            connections.add(task)
            try:
                await self._handle(reader, writer)
            finally:
                connections.discard(task)
                writer.close()

        server = await asyncio.start_unix_server(handle, path, limit=HEAD_LIMIT)
        try:
            os.chmod(path, 0o600)
            if self.owner_uid is not None:
                os.chown(directory, self.owner_uid, self.owner_uid)
                os.chown(path, self.owner_uid, self.owner_uid)
            yield path
        finally:
            server.close()
            for task in list(connections):
                task.cancel()
            shutil.rmtree(directory, ignore_errors=True)

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), HEAD_TIMEOUT_S)
            method, host, port, forward = parse_request(head)
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, TimeoutError):
            return
        except ValueError as exc:
            return await _answer(writer, 400, str(exc))
        try:
            addresses = await checked_addresses_async(host, port, self.policy)
        except NodeError as exc:  # refused by the policy (user error) or DNS trouble (transient)
            return await _answer(writer, 403 if not exc.retryable else 502, exc.message)
        upstream = await _connect(addresses, port)
        if upstream is None:
            return await _answer(writer, 502, f"could not connect to {host}:{port}")
        up_reader, up_writer = upstream
        try:
            if method == "CONNECT":
                writer.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
            else:
                up_writer.write(forward)
            await asyncio.gather(_pipe(reader, up_writer), _pipe(up_reader, writer))
        finally:
            up_writer.close()


def parse_request(head: bytes) -> tuple[str, str, int, bytes]:
    """(method, host, port, the head to send upstream) of a proxy request; ValueError if it is not one."""
    request_line, _, rest = head.partition(b"\r\n")
    try:
        method, target, version = request_line.decode("ascii").split(" ")
    except (UnicodeDecodeError, ValueError):
        raise ValueError("not an HTTP proxy request") from None
    if method == "CONNECT":
        host, _, port = target.rpartition(":")
        host = host.strip("[]")
        if not host or not port.isdigit():
            raise ValueError(f"CONNECT needs host:port, not {target!r}")
        return method, host, int(port), b""
    url = httpx.URL(target)
    if url.scheme != "http" or not url.host:
        raise ValueError("send http:// URLs to the proxy as absolute URLs and https:// through CONNECT")
    origin_form = url.raw_path or b"/"
    headers = [line for line in rest.split(b"\r\n") if line and line.split(b":")[0].strip().lower()
               not in _HOP_HEADERS]
    forward = b"\r\n".join([f"{method} ".encode() + origin_form + f" {version}".encode(), *headers,
                            b"Connection: close", b"", b""])
    return method, url.host, url.port or 80, forward


async def _connect(addresses: list[str], port: int):
    for address in addresses:
        with contextlib.suppress(OSError, TimeoutError):
            return await asyncio.wait_for(asyncio.open_connection(address, port), CONNECT_TIMEOUT_S)
    return None


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    with contextlib.suppress(OSError):
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
        if writer.can_write_eof():
            writer.write_eof()


async def _answer(writer: asyncio.StreamWriter, status: int, message: str) -> None:
    reason = {400: "Bad Request", 403: "Forbidden", 502: "Bad Gateway"}[status]
    body = f"LinkFlow egress proxy: {message}\n".encode()
    writer.write(f"HTTP/1.1 {status} {reason}\r\nContent-Type: text/plain; charset=utf-8\r\n"
                 f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode() + body)
    with contextlib.suppress(OSError):
        await writer.drain()


def policy_from(allow_private: bool, allow_list: str) -> AddressPolicy:
    return AddressPolicy.from_settings({"http_allow_private": allow_private, "http_allow_list": allow_list})
