"""Connections LinkFlow makes on a user's behalf: which addresses they may reach, and how to connect.

Whatever a user chooses the target of (an HTTP Request URL, a credential's test URL, an
OAuth2 token endpoint, a database or mail server host) is reached in three steps:

1. resolve the host (an address resolves to itself);
2. check every address it resolves to against the ``AddressPolicy``: private, loopback,
   link-local, multicast, reserved and unspecified addresses are refused unless an
   administrator allowed them;
3. connect to the checked address itself, never to the name again, so a DNS answer that
   changes between the check and the connection cannot slip an internal address in. The
   name still goes where the protocol needs it: the Host header, TLS SNI and the
   certificate check.

The refusal happens before any connection is attempted, so it reads the same whether
something listens on the refused address or not.

HTTP with httpx: give the client an ``AsyncGuardedTransport`` (or ``GuardedTransport``)
and ``trust_env=False`` (a proxy from the environment would connect for us). Every
request goes through it, each redirect hop included::

    from nodes.sdk.net import AddressPolicy, AsyncGuardedTransport

    policy = AddressPolicy.from_settings(ctx.settings)
    async with httpx.AsyncClient(transport=AsyncGuardedTransport(policy), trust_env=False) as client:
        response = await client.get(url)   # NodeUserError if url's host is internal

A node that makes a request on every run takes ``shared_transport(policy)`` instead: its
connections stay open for the next run's request to the same host on the same event loop (no
TCP connect, and for HTTPS no TLS handshake, per run), and closing the client leaves them open.

Other protocols: take the checked addresses and connect to them::

    addresses = await checked_addresses_async(host, port, policy)
    sock = await asyncio.to_thread(open_connection, addresses, port, timeout_s)
"""

from __future__ import annotations

import asyncio
import functools
import ipaddress
import socket
import ssl
import weakref
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

import httpx

from nodes.sdk.errors import NodeError, NodeTransientError, NodeUserError

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
_CLASSES: tuple[tuple[str, Callable[[IPAddress], bool]], ...] = (  # in order; the first that applies names it
    ("unspecified", lambda ip: ip.is_unspecified),
    ("loopback", lambda ip: ip.is_loopback),
    ("link-local", lambda ip: ip.is_link_local),
    ("multicast", lambda ip: ip.is_multicast),
    ("reserved", lambda ip: ip.is_reserved),
    ("private", lambda ip: ip.is_private),
    ("non-public", lambda ip: not ip.is_global),
)


class AddressRefused(NodeUserError):
    """The host is, or resolves to, an address the policy does not let LinkFlow reach."""


@dataclass(frozen=True)
class AddressPolicy:
    """Which addresses may be reached. The default refuses every non-public one.

    ``from_settings`` reads the node settings ``http_allow_private`` (bool) and
    ``http_allow_list`` (host names, ``.example.com`` for a domain and its subdomains,
    addresses and CIDRs; a list or a comma-separated text)::

        policy = AddressPolicy.from_settings({"http_allow_list": "10.0.0.0/8, intranet.local"})
        policy.refusal(ipaddress.ip_address("10.1.2.3"))   # None: allowed
    """

    allow_private: bool = False
    hosts: frozenset[str] = frozenset()  # exact names, or ".example.com" for it and its subdomains
    networks: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] = ()

    @classmethod
    def from_settings(cls, settings: dict) -> AddressPolicy:
        entries = settings.get("http_allow_list") or []
        if isinstance(entries, str):
            entries = entries.split(",")
        hosts, networks = set(), []
        for entry in (e.strip().lower() for e in entries if e and e.strip()):
            try:
                networks.append(ipaddress.ip_network(entry, strict=False))
            except ValueError:
                hosts.add(entry.removeprefix("*"))
        return cls(bool(settings.get("http_allow_private")), frozenset(hosts), tuple(networks))

    def host_allowed(self, host: str) -> bool:
        host = host.lower().rstrip(".")
        return host in self.hosts or any(h.startswith(".") and (host.endswith(h) or host == h[1:]) for h in self.hosts)

    def refusal(self, ip: IPAddress) -> str | None:
        """The class of ``ip`` that is blocked (e.g. 'loopback'), or None if it may be reached."""
        if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
            ip = ip.ipv4_mapped  # ::ffff:127.0.0.1 is 127.0.0.1
        if self.allow_private or any(ip in net for net in self.networks):
            return None
        return next((name for name, test in _CLASSES if test(ip)), None)

    def check(self, host: str, addresses: list[IPAddress]) -> list[str]:
        """``addresses`` as texts to connect to, or AddressRefused naming the first blocked one."""
        if not self.host_allowed(host):
            for ip in addresses:
                if kind := self.refusal(ip):
                    raise AddressRefused(_refusal_message(host, ip, kind),
                                         details={"host": host, "address": str(ip), "class": kind})
        return [str(ip) for ip in addresses]


def checked_addresses(host: str, port: int | None, policy: AddressPolicy) -> list[str]:
    """Resolve ``host`` and check every address (blocking; in a thread or a sync client).

    >>> checked_addresses("127.0.0.1", 6379, AddressPolicy(allow_private=True))
    ['127.0.0.1']
    """
    host = _bare(host)
    literal = _literal(host)
    if literal is not None:
        return policy.check(host, [literal])
    try:
        infos = socket.getaddrinfo(host, port or 0, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise _resolution_error(host, exc) from None
    return policy.check(host, _addresses(host, infos))


async def checked_addresses_async(host: str, port: int | None, policy: AddressPolicy) -> list[str]:
    """``checked_addresses`` for async code: the lookup runs in the loop's resolver thread."""
    host = _bare(host)
    literal = _literal(host)
    if literal is not None:
        return policy.check(host, [literal])
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, port or 0, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise _resolution_error(host, exc) from None
    return policy.check(host, _addresses(host, infos))


def open_connection(addresses: list[str], port: int, timeout_s: float) -> socket.socket:
    """A TCP connection to the first of the (checked) ``addresses`` that accepts one; else the last OSError."""
    error: OSError | None = None
    for address in addresses:
        try:
            sock = socket.create_connection((address, port), timeout=timeout_s)
        except OSError as exc:
            error = exc
            continue
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return sock
    raise error or OSError("no address to connect to")


class AsyncGuardedTransport(httpx.AsyncBaseTransport):
    """An httpx transport that checks and pins every request (each redirect hop is a request).

    Requests to a name go to the checked address with the name kept in the Host header,
    in TLS SNI and in the certificate check; the next address is tried if a connection
    cannot be made. Each name gets its own connection pool, so a connection made (and
    verified) for one name never carries a request for another. ``options`` go to the
    underlying ``httpx.AsyncHTTPTransport`` (e.g. ``verify``).
    """

    def __init__(self, policy: AddressPolicy, **options) -> None:
        self.policy, self._options = policy, _with_shared_tls(options)
        self._pools: dict[tuple[str, str], httpx.AsyncHTTPTransport] = {}

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        url = _http_url(request)
        addresses = await checked_addresses_async(url.host, url.port, self.policy)
        pool = self._pools.get((url.scheme, url.host))
        if pool is None:
            pool = self._pools[(url.scheme, url.host)] = httpx.AsyncHTTPTransport(**self._options)
        for attempt, address in enumerate(addresses, start=1):
            try:
                return await pool.handle_async_request(pinned(request, address))
            except httpx.ConnectError:
                if attempt == len(addresses):
                    raise
        raise AssertionError("unreachable: checked addresses are never empty")  # pragma: no cover

    async def aclose(self) -> None:
        pools, self._pools = list(self._pools.values()), {}
        for pool in pools:
            await pool.aclose()


SHARED_HOSTS = 32  # host pools a shared transport keeps; past it the least recently used idle one is closed
SHARED_KEEPALIVE = 8  # idle connections it keeps per host (httpx's default is 20)
SHARED_KEEPALIVE_S = 5.0  # an idle connection older than this is not used again


class SharedGuardedTransport(AsyncGuardedTransport):
    """An ``AsyncGuardedTransport`` shared by the runs of one event loop (``shared_transport``).

    Every request is still checked and pinned as by its base class, and each host name keeps its own
    pool, so sharing changes only this: a connection a run left open to a host serves the next run's
    request to it. A client cannot close it (``aclose`` does nothing); cookies, headers and credentials
    belong to each run's client, never to a connection. At most ``SHARED_HOSTS`` host pools are kept: a
    new host closes the least recently used pool with no request under way.
    """

    def __init__(self, policy: AddressPolicy) -> None:
        super().__init__(policy, limits=httpx.Limits(max_connections=100, max_keepalive_connections=SHARED_KEEPALIVE,
                                                     keepalive_expiry=SHARED_KEEPALIVE_S))
        self._pools: OrderedDict[tuple[str, str], httpx.AsyncHTTPTransport] = OrderedDict()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        url = _http_url(request)
        key = (url.scheme, url.host)
        if key in self._pools:
            self._pools.move_to_end(key)
        else:
            await self._make_room()
        return await super().handle_async_request(request)

    async def _make_room(self) -> None:
        while len(self._pools) >= SHARED_HOSTS:
            idle = next((key for key, pool in self._pools.items() if _pool_idle(pool)), None)
            if idle is None:
                return  # every pool has a request under way: keep them all for now
            await self._pools.pop(idle).aclose()

    async def aclose(self) -> None:
        return None  # shared: the clients that borrow it close, the transport stays with its loop

    async def close_all(self) -> None:
        await super().aclose()


def _pool_idle(pool: httpx.AsyncHTTPTransport) -> bool:
    return all(connection.is_idle() for connection in pool._pool.connections)  # noqa: SLF001 - httpx keeps it there


_shared: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[AddressPolicy, SharedGuardedTransport]] = (
    weakref.WeakKeyDictionary())


def shared_transport(policy: AddressPolicy) -> SharedGuardedTransport:
    """The running event loop's shared transport for ``policy`` (see ``SharedGuardedTransport``)."""
    loop = asyncio.get_running_loop()
    transports = _shared.get(loop)
    if transports is None:
        transports = _shared[loop] = {}
    transport = transports.get(policy)
    if transport is None:
        transport = transports[policy] = SharedGuardedTransport(policy)
    return transport


class GuardedTransport(httpx.BaseTransport):
    """``AsyncGuardedTransport`` for blocking clients (``httpx.Client``, authlib's ``OAuth2Client``)."""

    def __init__(self, policy: AddressPolicy, **options) -> None:
        self.policy, self._options = policy, _with_shared_tls(options)
        self._pools: dict[tuple[str, str], httpx.HTTPTransport] = {}

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        url = _http_url(request)
        addresses = checked_addresses(url.host, url.port, self.policy)
        pool = self._pools.get((url.scheme, url.host))
        if pool is None:
            pool = self._pools[(url.scheme, url.host)] = httpx.HTTPTransport(**self._options)
        for attempt, address in enumerate(addresses, start=1):
            try:
                return pool.handle_request(pinned(request, address))
            except httpx.ConnectError:
                if attempt == len(addresses):
                    raise
        raise AssertionError("unreachable: checked addresses are never empty")  # pragma: no cover

    def close(self) -> None:
        pools, self._pools = list(self._pools.values()), {}
        for pool in pools:
            pool.close()


@functools.cache
def default_tls_context() -> ssl.SSLContext:
    """The verifying TLS context every guarded transport shares: reading the CA bundle again for each new
    connection pool cost ~5 ms of CPU, most of a short HTTP Request node's run."""
    return httpx.create_ssl_context()


def _with_shared_tls(options: dict) -> dict:
    if options.get("verify", True) is True and not options.get("cert"):
        return {**options, "verify": default_tls_context()}
    return options


def pinned(request: httpx.Request, address: str) -> httpx.Request:
    """``request`` aimed at ``address``, keeping its Host header, with the name as TLS SNI."""
    url = request.url
    if _literal(url.host) is not None:
        return request
    extensions = {**request.extensions, **({"sni_hostname": url.host} if url.scheme == "https" else {})}
    return httpx.Request(request.method, url.copy_with(host=address), headers=request.headers,
                         stream=request.stream, extensions=extensions)


def _http_url(request: httpx.Request) -> httpx.URL:
    if request.url.scheme not in ("http", "https"):
        raise httpx.UnsupportedProtocol(f"{request.url.scheme!r} URLs are not supported: use http or https")
    return request.url


def _refusal_message(host: str, ip: IPAddress, kind: str) -> str:
    what = f"it is a {kind} address" if _literal(host) is not None else f"it resolves to {ip}, a {kind} address"
    return (f"refused to connect to {host}: {what}; LinkFlow does not connect there unless an administrator "
            "sets LINKFLOW_HTTP_ALLOW_PRIVATE=true or lists the host or address in LINKFLOW_HTTP_ALLOW_LIST "
            "(host names or CIDRs, comma-separated)")


def _bare(host: str) -> str:
    return host[1:-1] if host.startswith("[") and host.endswith("]") else host


def _literal(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


def _addresses(host: str, infos: list) -> list[IPAddress]:
    addresses = list(dict.fromkeys(ipaddress.ip_address(info[4][0].split("%")[0]) for info in infos))
    if not addresses:
        raise NodeUserError(f"unknown host {host!r}: it resolves to no address")
    return addresses


def _resolution_error(host: str, exc: Exception) -> NodeError:
    if isinstance(exc, socket.gaierror) and exc.errno == socket.EAI_AGAIN:
        return NodeTransientError(f"could not resolve host {host!r} right now: {exc.strerror}")
    reason = exc.strerror if isinstance(exc, socket.gaierror) else "not a valid host name"
    return NodeUserError(f"unknown host {host!r}: {reason}; check the host name")
