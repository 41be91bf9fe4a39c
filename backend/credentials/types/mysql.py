"""A MySQL or MariaDB login; tested with a connection and ``SELECT VERSION()``.

The test connects to the addresses the address policy checked (a socket handed to PyMySQL), never to
the name again; with TLS the certificate is still checked against the name.
"""

from __future__ import annotations

import asyncio

from pydantic import Field, SecretStr

from backend.credentials.types._http import server_addresses
from backend.credentials.types.base import CredentialFields, CredentialType, TestResult, secret
from nodes.sdk.net import open_connection


class MySqlFields(CredentialFields):
    host: str = Field(min_length=1, description="Server host name or address")
    port: int = Field(3306, ge=1, le=65535)
    database: str = Field(min_length=1, description="Database name")
    user: str = Field(min_length=1, description="User name")
    password: SecretStr | None = secret(None, description="Password")
    tls: bool = Field(False, description="Require TLS (the certificate is checked against the host name)")


class MySql(CredentialType):
    type = "mysql"
    display_name = "MySQL / MariaDB"
    description = "A MySQL or MariaDB database login."
    icon = "database"
    Fields = MySqlFields

    def inject(self, values: MySqlFields) -> dict:
        """Keyword arguments for ``pymysql.connect`` (``tls`` turns into its ``ssl`` options)."""
        return {"host": values.host, "port": values.port, "database": values.database, "user": values.user,
                "password": values.password.get_secret_value() if values.password else "", "tls": values.tls}

    async def test(self, values: MySqlFields) -> TestResult:
        addresses = await server_addresses(values.host, values.port)
        if isinstance(addresses, TestResult):
            return addresses
        return await asyncio.to_thread(_check, self.inject(values), addresses, self.test_timeout_s)


def _check(params: dict, addresses: list[str], timeout_s: float) -> TestResult:
    import pymysql  # here, not at module level: only a test needs it

    where = f"{params['host']}:{params['port']}/{params['database']}"
    try:
        conn = pymysql.connect(**connect_options(params, timeout_s), defer_connect=True)
        conn.connect(sock=open_connection(addresses, params["port"], timeout_s))
        try:
            with conn.cursor() as cursor:
                cursor.execute("SELECT VERSION()")
                (version,) = cursor.fetchone()
        finally:
            conn.close()
    except (pymysql.Error, OSError) as exc:
        reason = exc.args[1] if isinstance(exc, pymysql.Error) and len(exc.args) > 1 else str(exc)
        return TestResult(False, f"could not connect to {where} as {params['user']}: {reason}")
    return TestResult(True, f"connected to {where} as {params['user']} (server {version})")


def connect_options(params: dict, timeout_s: float) -> dict:
    options = {k: v for k, v in params.items() if k != "tls"}
    if params.get("tls"):
        options.update(ssl={"check_hostname": True}, ssl_verify_cert=True, ssl_verify_identity=True)
    return {**options, "connect_timeout": max(1, int(timeout_s)), "read_timeout": 60, "write_timeout": 60}
