"""A Redis client that connects only to addresses the address policy checked, never to the name again.

Used by the Redis node, the Redis Trigger and the Redis credential's Test. With TLS the name is still what the
server's certificate is checked against.
"""

from __future__ import annotations

import socket

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from nodes.sdk.net import open_connection


def pinned_redis(login: dict, addresses: list[str], timeout_s: float, *, retries: int = 1) -> redis.Redis:
    """`login`: host, port, db, username, password, ssl (the Redis credential's injected values)."""
    options = {"host": login["host"], "port": login["port"], "db": login.get("db", 0),
               "username": login.get("username"), "password": login.get("password")}
    pool = redis.ConnectionPool(connection_class=_PinnedSSL if login.get("ssl") else _Pinned, addresses=addresses,
                                socket_connect_timeout=timeout_s, socket_timeout=timeout_s,
                                retry=Retry(NoBackoff(), retries), **options)
    return redis.Redis(connection_pool=pool)


class _Pinned(redis.Connection):
    def __init__(self, *, addresses: list[str], **kwargs) -> None:
        self.addresses = addresses
        super().__init__(**kwargs)

    def _connect(self) -> socket.socket:
        sock = open_connection(self.addresses, self.port, self.socket_connect_timeout)
        sock.settimeout(self.socket_timeout)
        return sock


class _PinnedSSL(redis.SSLConnection):
    def __init__(self, *, addresses: list[str], **kwargs) -> None:
        self.addresses = addresses
        super().__init__(**kwargs)

    def _connect(self) -> socket.socket:
        sock = open_connection(self.addresses, self.port, self.socket_connect_timeout)
        sock.settimeout(self.socket_timeout)
        try:
            return self._wrap_socket_with_ssl(sock)  # checks the certificate against self.host, the name
        except (OSError, redis.RedisError):
            sock.close()
            raise
