"""SSRF protection for the HTTP Request node: which addresses a workflow may reach.

Every hop (the first request and each redirect) resolves the host, checks every
address it resolves to, and then connects to the checked address itself (the URL's
host goes in the Host header and TLS SNI), so a DNS answer that changes between the
check and the connection cannot slip a private address in.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from dataclasses import dataclass

import httpx

from nodes.sdk import NodeTransientError, NodeUserError

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
_CLASSES = (  # checked in order; the first that applies names the refusal
    ("unspecified", lambda ip: ip.is_unspecified),
    ("loopback", lambda ip: ip.is_loopback),
    ("link-local", lambda ip: ip.is_link_local),
    ("multicast", lambda ip: ip.is_multicast),
    ("reserved", lambda ip: ip.is_reserved),
    ("private", lambda ip: ip.is_private),
    ("non-public", lambda ip: not ip.is_global),
)


@dataclass(frozen=True)
class AddressPolicy:
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


async def vetted_addresses(url: httpx.URL, policy: AddressPolicy) -> list[str]:
    """The addresses to connect to for ``url``, after checking every one its host resolves to."""
    host = url.host
    addresses = [ipaddress.ip_address(host)] if _is_ip(host) else await _resolve(host, url.port)
    if not policy.host_allowed(host):
        for ip in addresses:
            if kind := policy.refusal(ip):
                raise NodeUserError(
                    f"refused to connect to {host} ({ip}): it is a {kind} address, and workflows may not reach "
                    "internal services by default. An administrator can allow it with "
                    "LINKFLOW_HTTP_ALLOW_LIST (host names or CIDRs, comma-separated) or allow every private "
                    "address with LINKFLOW_HTTP_ALLOW_PRIVATE=true",
                    details={"host": host, "address": str(ip), "class": kind},
                )
    return [str(ip) for ip in addresses]


def pinned(url: httpx.URL, address: str) -> tuple[httpx.URL, dict[str, str], dict]:
    """(URL aimed at ``address``, the Host header, request extensions for TLS) for ``url``."""
    if _is_ip(url.host):
        return url, {}, {}
    host_header = url.netloc.decode("ascii")
    extensions = {"sni_hostname": url.host} if url.scheme == "https" else {}
    return url.copy_with(host=address), {"Host": host_header}, extensions


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
        return True
    except ValueError:
        return False


async def _resolve(host: str, port: int | None) -> list[IPAddress]:
    loop = asyncio.get_running_loop()
    try:
        infos = await loop.getaddrinfo(host, port or 0, type=socket.SOCK_STREAM)  # runs in a thread
    except socket.gaierror as exc:
        if exc.errno == socket.EAI_AGAIN:
            raise NodeTransientError(f"could not resolve host {host!r} right now: {exc.strerror}") from None
        raise NodeUserError(f"unknown host {host!r}: {exc.strerror}; check the URL") from None
    addresses = list(dict.fromkeys(ipaddress.ip_address(info[4][0].split("%")[0]) for info in infos))
    if not addresses:
        raise NodeUserError(f"unknown host {host!r}: it resolves to no address")
    return addresses
