"""An IMAP mailbox login; tested with a real connection (TLS or STARTTLS as set), LOGIN and LOGOUT.

The test connects to the addresses the address policy checked, never to the name again; the name is still what
TLS checks the server's certificate against (unless unauthorized certificates are allowed).
"""

from __future__ import annotations

import asyncio
from typing import Literal

from pydantic import Field, SecretStr

from backend.credentials.types._http import server_addresses
from backend.credentials.types.base import CredentialFields, CredentialType, TestResult, secret
from nodes.builtin._imap import ImapSession
from nodes.sdk import NodeError


class ImapFields(CredentialFields):
    host: str = Field(min_length=1, description="IMAP server host name, e.g. imap.example.com")
    port: int = Field(993, ge=1, le=65535, description="993 for TLS, 143 for STARTTLS or plain")
    security: Literal["tls", "starttls", "none"] = Field("tls", description="How the connection is secured")
    user: str = Field(min_length=1, description="Login user, often the email address")
    password: SecretStr = secret(description="Login password (or an app password)")
    allow_unauthorized_certs: bool = Field(False, description="Accept a certificate that cannot be verified "
                                                              "(self-signed); the connection is then not "
                                                              "protected against interception")


class Imap(CredentialType):
    type = "imap"
    display_name = "IMAP"
    description = "A mailbox on an IMAP server (the Email Trigger reads it)."
    icon = "mail"
    Fields = ImapFields

    def inject(self, values: ImapFields) -> dict:
        return {"host": values.host, "port": values.port, "security": values.security, "user": values.user,
                "password": values.password.get_secret_value(),
                "allow_unauthorized_certs": values.allow_unauthorized_certs}

    async def test(self, values: ImapFields) -> TestResult:
        addresses = await server_addresses(values.host, values.port)
        if isinstance(addresses, TestResult):
            return addresses
        return await asyncio.to_thread(_check, self.inject(values), addresses, self.test_timeout_s)


def _check(login: dict, addresses: list[str], timeout_s: float) -> TestResult:
    session = ImapSession(login, addresses, timeout_s)
    try:
        session.open()
        return TestResult(True, f"logged in to {login['host']}:{login['port']} as {login['user']}")
    except NodeError as exc:
        return TestResult(False, exc.message)
    finally:
        session.close()
