"""A Redis server login; tested with ``PING``.

The test connects to the addresses the address policy checked, never to the name again
(a connection class that is handed them); with TLS the name is still what the server's
certificate is checked against.
"""

from __future__ import annotations

import asyncio

import redis
from pydantic import Field, SecretStr

from backend.credentials.types._http import server_addresses
from backend.credentials.types.base import CredentialFields, CredentialType, TestResult, secret
from nodes.sdk.redis_client import pinned_redis


class RedisFields(CredentialFields):
    host: str = Field(min_length=1, description="Server host name or address")
    port: int = Field(6379, ge=1, le=65535)
    database: int = Field(0, ge=0, description="Database number")
    username: str = Field("", description="ACL user (empty: the default user)")
    password: SecretStr | None = secret(None, description="Password (empty: none)")
    tls: bool = Field(False, description="Connect with TLS (rediss://)")


class Redis(CredentialType):
    type = "redis"
    display_name = "Redis"
    description = "A Redis server."
    icon = "database"
    Fields = RedisFields

    def inject(self, values: RedisFields) -> dict:
        """Keyword arguments for ``redis.Redis``."""
        return {"host": values.host, "port": values.port, "db": values.database,
                "username": values.username or None,
                "password": values.password.get_secret_value() if values.password else None, "ssl": values.tls}

    async def test(self, values: RedisFields) -> TestResult:
        addresses = await server_addresses(values.host, values.port)
        if isinstance(addresses, TestResult):
            return addresses
        return await asyncio.to_thread(_check, self.inject(values), addresses, self.test_timeout_s)


def _check(params: dict, addresses: list[str], timeout_s: float) -> TestResult:
    where = f"{params['host']}:{params['port']}/{params['db']}"
    client = _client(params, addresses, timeout_s)
    try:
        client.ping()
    except redis.AuthenticationError:
        return TestResult(False, f"{where} refused the user name or password")
    except redis.ResponseError as exc:
        return TestResult(False, f"{where} answered an error: {exc}")
    except (redis.ConnectionError, redis.TimeoutError) as exc:
        return TestResult(False, f"could not connect to {where}: {type(exc).__name__}")
    finally:
        client.close()
    return TestResult(True, f"{where} answered PING")


def _client(params: dict, addresses: list[str], timeout_s: float) -> redis.Redis:
    return pinned_redis(params, addresses, timeout_s, retries=0)  # one try: a test answers now, not after backoffs
