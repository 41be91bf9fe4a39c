"""A RabbitMQ (AMQP 0-9-1) login; tested by opening a connection and a channel on the virtual host.

The test connects to the addresses the address policy checked, never to the name again; with TLS the
name is still what the server's certificate is checked against (nodes/builtin/_amqp.py does both).
"""

from __future__ import annotations

from pydantic import Field, SecretStr

from backend.credentials.types._http import server_addresses
from backend.credentials.types.base import CredentialFields, CredentialType, TestResult, secret
from nodes.builtin._amqp import connect
from nodes.sdk import NodeError


class RabbitMqFields(CredentialFields):
    host: str = Field(min_length=1, description="Server host name or address")
    port: int = Field(5672, ge=1, le=65535, description="AMQP port (5672; 5671 with TLS)")
    vhost: str = Field("/", min_length=1, max_length=255, description="Virtual host")
    user: str = Field("guest", min_length=1, description="User name")
    password: SecretStr | None = secret(None, description="Password")
    tls: bool = Field(False, description="Connect with TLS (amqps; the certificate is checked against the host name)")


class RabbitMq(CredentialType):
    type = "rabbitmq"
    display_name = "RabbitMQ"
    description = "A RabbitMQ server (AMQP 0-9-1): user, password and virtual host."
    icon = "rabbit"
    Fields = RabbitMqFields

    def inject(self, values: RabbitMqFields) -> dict:
        """The login nodes/builtin/_amqp.py ``connect`` takes."""
        return {"host": values.host, "port": values.port, "vhost": values.vhost, "user": values.user,
                "password": values.password.get_secret_value() if values.password else "", "tls": values.tls}

    async def test(self, values: RabbitMqFields) -> TestResult:
        addresses = await server_addresses(values.host, values.port)
        if isinstance(addresses, TestResult):
            return addresses
        login = self.inject(values)
        where = f"{values.host}:{values.port} vhost {values.vhost!r}"
        try:
            connection = await connect(login, addresses, timeout_s=self.test_timeout_s)
            try:
                version = (connection.transport.connection.server_properties or {}).get("version", "?")
                async with connection.channel():
                    pass
            finally:
                await connection.close()
        except NodeError as exc:
            return TestResult(False, exc.message)
        if isinstance(version, bytes):
            version = version.decode("utf-8", "replace")
        return TestResult(True, f"connected to {where} as {values.user} (RabbitMQ {version})")
