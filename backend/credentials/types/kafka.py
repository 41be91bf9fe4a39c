"""A Kafka cluster login; tested by fetching the cluster's metadata.

The bootstrap servers are checked against the address policy before the test connects; so are the
brokers the cluster then advertises (a cluster cannot send the test, or the Kafka node, to an address
the policy refuses through its metadata).
"""

from __future__ import annotations

import asyncio
from typing import Literal

from pydantic import Field, SecretStr

from backend.credentials.types.base import CredentialFields, CredentialType, TestResult, secret
from backend.outbound import address_policy
from nodes.sdk import NodeError
from nodes.sdk.net import checked_addresses_async


class KafkaFields(CredentialFields):
    bootstrap_servers: str = Field(min_length=3, description="host:port of one or more brokers, comma-separated")
    security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = "PLAINTEXT"
    sasl_mechanism: Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"] = "PLAIN"
    username: str = Field("", description="SASL user name (SASL_* protocols)")
    password: SecretStr | None = secret(None, description="SASL password")
    client_id: str = Field("linkflow", description="How LinkFlow names itself to the brokers")


class Kafka(CredentialType):
    type = "kafka"
    display_name = "Kafka"
    description = "A Kafka cluster to produce messages to."
    icon = "radio-tower"
    Fields = KafkaFields

    def inject(self, values: KafkaFields) -> dict:
        """Keyword arguments for aiokafka's producer (``bootstrap_servers`` as a list of host:port)."""
        options = {"bootstrap_servers": [s.strip() for s in values.bootstrap_servers.split(",") if s.strip()],
                   "security_protocol": values.security_protocol, "client_id": values.client_id}
        if values.security_protocol.startswith("SASL"):
            options.update(sasl_mechanism=values.sasl_mechanism, sasl_plain_username=values.username,
                           sasl_plain_password=values.password.get_secret_value() if values.password else "")
        return options

    async def test(self, values: KafkaFields) -> TestResult:
        from aiokafka import AIOKafkaProducer
        from aiokafka.errors import KafkaError

        options = self.inject(values)
        try:
            for server in options["bootstrap_servers"]:
                host, _, port = server.rpartition(":")
                await checked_addresses_async(host or server, int(port or 9092), address_policy())
        except (NodeError, ValueError) as exc:
            return TestResult(False, getattr(exc, "message", str(exc)))
        producer = AIOKafkaProducer(**options, request_timeout_ms=int(self.test_timeout_s * 1000))
        try:
            await asyncio.wait_for(producer.start(), self.test_timeout_s)
            brokers = producer.client.cluster.brokers()
            for broker in brokers:
                await checked_addresses_async(broker.host, broker.port, address_policy())
        except NodeError as exc:
            return TestResult(False, f"the cluster advertises a broker the address policy refuses: {exc.message}")
        except (KafkaError, TimeoutError, OSError) as exc:
            return TestResult(False, f"could not reach Kafka at {values.bootstrap_servers}: "
                                     f"{type(exc).__name__}: {exc}")
        finally:
            await producer.stop()
        return TestResult(True, f"connected to {values.bootstrap_servers}: {len(brokers)} broker(s)")
