"""A PostgreSQL login; tested with a connection and ``SELECT 1``.

The test connects to the addresses the address policy checked (libpq's ``hostaddr``),
never to the name again; ``host`` still names the server for TLS (``verify-full``).
"""

from __future__ import annotations

import asyncio
from typing import Literal

from pydantic import Field, SecretStr

from backend.credentials.types._http import server_addresses
from backend.credentials.types.base import CredentialFields, CredentialType, TestResult, secret


class PostgresFields(CredentialFields):
    host: str = Field(min_length=1, description="Server host name or address")
    port: int = Field(5432, ge=1, le=65535)
    database: str = Field(min_length=1, description="Database name")
    user: str = Field(min_length=1, description="User name")
    password: SecretStr | None = secret(None, description="Password")
    sslmode: Literal["disable", "allow", "prefer", "require", "verify-ca", "verify-full"] = "prefer"


class Postgres(CredentialType):
    type = "postgres"
    display_name = "PostgreSQL"
    description = "A PostgreSQL database login."
    icon = "database"
    Fields = PostgresFields

    def inject(self, values: PostgresFields) -> dict:
        """Keyword arguments for ``psycopg.connect``."""
        return {"host": values.host, "port": values.port, "dbname": values.database, "user": values.user,
                "password": values.password.get_secret_value() if values.password else None,
                "sslmode": values.sslmode}

    async def test(self, values: PostgresFields) -> TestResult:
        addresses = await server_addresses(values.host, values.port)
        if isinstance(addresses, TestResult):
            return addresses
        return await asyncio.to_thread(_check, self.inject(values), addresses, self.test_timeout_s)


def _pinned_params(params: dict, addresses: list[str]) -> dict:
    """``psycopg.connect`` arguments that reach only ``addresses`` (libpq tries them in turn)."""
    count = len(addresses)
    return {**params, "host": ",".join([params["host"]] * count), "hostaddr": ",".join(addresses),
            "port": ",".join([str(params["port"])] * count)}


def _check(params: dict, addresses: list[str], timeout_s: float) -> TestResult:
    import psycopg  # here, not at module level: it is slow to import and only a test needs it

    where = f"{params['host']}:{params['port']}/{params['dbname']}"
    try:
        with psycopg.connect(**_pinned_params(params, addresses), connect_timeout=max(1, int(timeout_s))) as conn:
            conn.execute("SELECT 1").fetchone()
            version = conn.info.server_version
    except psycopg.Error as exc:
        # libpq's messages name host, user and database, never the password.
        reason = str(exc).strip().splitlines()[-1] if str(exc).strip() else type(exc).__name__
        return TestResult(False, f"could not connect to {where} as {params['user']}: {reason}")
    return TestResult(True, f"connected to {where} as {params['user']} (server {version // 10000})")
