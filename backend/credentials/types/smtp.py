"""An SMTP server login; tested with connect + EHLO (+ STARTTLS) + optional LOGIN.

The test connects to the addresses the address policy checked, never to the name again;
the name is still what STARTTLS and TLS check the server's certificate against.
"""

from __future__ import annotations

import asyncio
import smtplib
import socket
import ssl
from typing import Literal

from pydantic import Field, SecretStr

from backend.credentials.types._http import server_addresses
from backend.credentials.types.base import CredentialFields, CredentialType, TestResult, secret
from nodes.sdk.net import open_connection


class SmtpFields(CredentialFields):
    host: str = Field(min_length=1, description="SMTP server host name")
    port: int = Field(587, ge=1, le=65535, description="587 for STARTTLS, 465 for TLS, 25 for plain")
    security: Literal["starttls", "tls", "none"] = Field("starttls", description="How the connection is secured")
    username: str = Field("", description="Login user (empty: no login)")
    password: SecretStr | None = secret(None, description="Login password")


class Smtp(CredentialType):
    type = "smtp"
    display_name = "SMTP"
    description = "A mail server to send email through."
    icon = "mail"
    Fields = SmtpFields

    def inject(self, values: SmtpFields) -> dict:
        password = values.password.get_secret_value() if values.password else ""
        return {"host": values.host, "port": values.port, "security": values.security,
                "username": values.username, "password": password}

    async def test(self, values: SmtpFields) -> TestResult:
        addresses = await server_addresses(values.host, values.port)
        if isinstance(addresses, TestResult):
            return addresses
        return await asyncio.to_thread(_check, values, addresses, self.test_timeout_s)


def _check(values: SmtpFields, addresses: list[str], timeout_s: float) -> TestResult:
    where = f"{values.host}:{values.port}"
    try:
        with _connect(values, addresses, timeout_s) as smtp:
            smtp.ehlo()
            if values.security == "starttls":
                smtp.starttls(context=ssl.create_default_context())
                smtp.ehlo()
            if values.username:
                smtp.login(values.username, values.password.get_secret_value() if values.password else "")
            return TestResult(True, f"connected to {where}" + (f" and logged in as {values.username}"
                                                                 if values.username else ""))
    except smtplib.SMTPAuthenticationError as exc:
        return TestResult(False, f"{where} refused the login for {values.username} ({exc.smtp_code})")
    except smtplib.SMTPNotSupportedError:
        return TestResult(False, f"{where} does not offer STARTTLS or AUTH; check the security setting")
    except (TimeoutError, OSError, smtplib.SMTPException) as exc:
        return TestResult(False, f"could not talk to {where}: {type(exc).__name__}: {exc}")


def _connect(values: SmtpFields, addresses: list[str], timeout_s: float) -> smtplib.SMTP:
    if values.security == "tls":
        smtp = _CheckedSMTPSSL(addresses, timeout=timeout_s, context=ssl.create_default_context())
    else:
        smtp = _CheckedSMTP(addresses, timeout=timeout_s)
    smtp.connect(values.host, values.port)  # the name, kept for STARTTLS; the socket goes to an address
    return smtp


class _CheckedSMTP(smtplib.SMTP):
    def __init__(self, addresses: list[str], **kwargs) -> None:
        self.addresses = addresses
        super().__init__(**kwargs)

    def _get_socket(self, host: str, port: int, timeout: float) -> socket.socket:
        return open_connection(self.addresses, port, timeout)


class _CheckedSMTPSSL(smtplib.SMTP_SSL):
    def __init__(self, addresses: list[str], **kwargs) -> None:
        self.addresses = addresses
        super().__init__(**kwargs)

    def _get_socket(self, host: str, port: int, timeout: float) -> socket.socket:
        return self.context.wrap_socket(open_connection(self.addresses, port, timeout), server_hostname=host)
