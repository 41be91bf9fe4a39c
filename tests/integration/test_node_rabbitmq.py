"""The RabbitMQ node (and the rabbitmq credential's Test) against the real broker of `infra.sh up rabbitmq`:
messages sent are read back from the queue with their body, headers and delivery mode."""

from __future__ import annotations

import asyncio
import json
import uuid
from urllib.parse import unquote, urlsplit

import aio_pika
import pytest

from nodes.builtin.rabbitmq import RabbitMq
from nodes.sdk import NodeTransientError, NodeUserError
from nodes.sdk.net import AddressRefused
from nodes.sdk.testing import run_node

LOOPBACK = {"http_allow_list": ["127.0.0.1"]}


def login(url: str, **changes) -> dict:
    parts = urlsplit(url)
    return {"host": parts.hostname, "port": parts.port, "vhost": unquote(parts.path[1:]) or "/",
            "user": parts.username, "password": parts.password, "tls": False, **changes}


@pytest.fixture
async def broker(rabbitmq_url):
    """A channel of our own, and a name prefix; queues and exchanges with it are deleted afterwards."""
    connection = await aio_pika.connect(rabbitmq_url)
    channel = await connection.channel()
    prefix = f"lf-test-{uuid.uuid4().hex[:10]}"
    made: list[tuple[str, str]] = []
    yield channel, prefix, made
    for kind, name in made:
        if kind == "queue":
            await channel.queue_delete(name)
        else:
            await channel.exchange_delete(name)
    await connection.close()


async def read(channel, queue: str, count: int) -> list[aio_pika.abc.AbstractIncomingMessage]:
    got = []
    for _ in range(50):
        q = await channel.declare_queue(queue, passive=True)
        message = await q.get(fail=False, no_ack=True)
        if message is None:
            if len(got) >= count:
                break
            await asyncio.sleep(0.1)
            continue
        got.append(message)
    return got


async def send(rabbitmq_url, items, params):
    return (await run_node(RabbitMq, items, params=params, credentials={"rabbitmq": login(rabbitmq_url)},
                           settings=LOOPBACK))["main"]


async def test_items_are_sent_to_a_queue_and_read_back(rabbitmq_url, broker):
    channel, prefix, made = broker
    queue = f"{prefix}-orders"
    made.append(("queue", queue))
    items = [{"json": {"order": i, "note": "é"}} for i in range(3)]
    out = await send(rabbitmq_url, items, {"queue": queue, "headers": {"source": "linkflow"}})
    assert [o["json"] for o in out] == [{"success": True, "mode": "queue", "queue": queue, "exchange": None,
                                         "routing_key": queue}] * 3
    received = await read(channel, queue, 3)
    assert [json.loads(m.body) for m in received] == [i["json"] for i in items]
    first = received[0]
    assert first.headers == {"source": "linkflow"} and first.content_type == "application/json"
    assert first.delivery_mode == aio_pika.DeliveryMode.PERSISTENT
    await channel.declare_queue(queue, durable=True)  # a queue declared otherwise: PRECONDITION_FAILED


async def test_a_field_as_text_to_a_topic_exchange_reaches_the_bound_queue_only(rabbitmq_url, broker):
    channel, prefix, made = broker
    exchange, queue, other = f"{prefix}-events", f"{prefix}-eu", f"{prefix}-us"
    made += [("queue", queue), ("queue", other), ("exchange", exchange)]
    x = await channel.declare_exchange(exchange, "topic", durable=True)
    for name, key in ((queue, "orders.eu.*"), (other, "orders.us.*")):
        q = await channel.declare_queue(name)
        await q.bind(x, routing_key=key)
    await send(rabbitmq_url, [{"json": {"body": "hello"}}],
               {"mode": "exchange", "exchange": exchange, "exchange_type": "topic", "routing_key": "orders.eu.new",
                "send_input_data": False, "message": "hello", "persistent": False})
    (message,) = await read(channel, queue, 1)
    assert message.body == b"hello" and message.content_type == "text/plain"
    assert message.routing_key == "orders.eu.new" and message.exchange == exchange
    assert message.delivery_mode == aio_pika.DeliveryMode.NOT_PERSISTENT
    assert await read(channel, other, 0) == []


async def test_an_exchange_of_another_type_names_rabbitmqs_refusal(rabbitmq_url, broker):
    channel, prefix, made = broker
    exchange = f"{prefix}-fan"
    made.append(("exchange", exchange))
    await channel.declare_exchange(exchange, "fanout", durable=True)
    with pytest.raises(NodeUserError) as refused:
        await send(rabbitmq_url, [{"json": {}}], {"mode": "exchange", "exchange": exchange, "exchange_type": "topic"})
    assert "PRECONDITION_FAILED" in refused.value.message and exchange in refused.value.message
    assert refused.value.item_index == 0


async def test_a_wrong_password_and_a_closed_port_are_told_apart(rabbitmq_url):
    with pytest.raises(NodeUserError, match="refused the user name or password"):
        await run_node(RabbitMq, [{"json": {}}], params={"queue": "x"},
                       credentials={"rabbitmq": login(rabbitmq_url, password="wrong")}, settings=LOOPBACK)
    with pytest.raises(NodeUserError, match="virtual host does not exist"):
        await run_node(RabbitMq, [{"json": {}}], params={"queue": "x"},
                       credentials={"rabbitmq": login(rabbitmq_url, vhost="no-such-vhost")}, settings=LOOPBACK)
    with pytest.raises(NodeTransientError, match="127.0.0.1:1 "):
        await run_node(RabbitMq, [{"json": {}}], params={"queue": "x"},
                       credentials={"rabbitmq": login(rabbitmq_url, port=1)}, settings=LOOPBACK)


async def test_loopback_is_refused_without_the_allow_list(rabbitmq_url):
    with pytest.raises(AddressRefused):
        await run_node(RabbitMq, [{"json": {}}], params={"queue": "x"},
                       credentials={"rabbitmq": login(rabbitmq_url)})


async def test_the_credential_test_connects(rabbitmq_url, configure):
    from backend.credentials.types.rabbitmq import RabbitMq as RabbitMqCredential
    from backend.credentials.types.rabbitmq import RabbitMqFields

    configure(HTTP_ALLOW_LIST="127.0.0.1")
    values = login(rabbitmq_url)
    result = await RabbitMqCredential().test(RabbitMqFields(**values))
    assert result.ok and "RabbitMQ 3." in result.message, result.message
    refused = await RabbitMqCredential().test(RabbitMqFields(**{**values, "password": "wrong"}))
    assert not refused.ok and "refused the user name or password" in refused.message
    closed = await RabbitMqCredential().test(RabbitMqFields(**{**values, "port": 1}))
    assert not closed.ok and "127.0.0.1:1" in closed.message


def _certificates(tmp_path) -> tuple[str, str, str]:
    """A CA (ca.pem) and a server certificate for the name "localhost" only (no address), signed by it."""
    import datetime

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    now = datetime.datetime.now(datetime.UTC)

    def build(subject: str, key, issuer: str, issuer_key, *, ca: bool):
        builder = (x509.CertificateBuilder().subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
                   .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, issuer)]))
                   .public_key(key.public_key()).serial_number(x509.random_serial_number())
                   .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=1))
                   .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
        if ca:
            builder = builder.add_extension(x509.KeyUsage(
                digital_signature=True, content_commitment=False, key_encipherment=False, data_encipherment=False,
                key_agreement=False, key_cert_sign=True, crl_sign=True, encipher_only=False, decipher_only=False),
                critical=True).add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()),
                                             critical=False)
        else:
            builder = builder.add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
            builder = builder.add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
                issuer_key.public_key()), critical=False)
        return builder.sign(issuer_key, hashes.SHA256())

    ca_key, server_key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca = build("LinkFlow test CA", ca_key, "LinkFlow test CA", ca_key, ca=True)
    server = build("localhost", server_key, "LinkFlow test CA", ca_key, ca=False)
    paths = [str(tmp_path / n) for n in ("ca.pem", "server.pem", "server.key")]
    for path, data in zip(paths, (ca.public_bytes(serialization.Encoding.PEM),
                                  server.public_bytes(serialization.Encoding.PEM),
                                  server_key.private_bytes(serialization.Encoding.PEM,
                                                           serialization.PrivateFormat.PKCS8,
                                                           serialization.NoEncryption())), strict=True):
        with open(path, "wb") as f:
            f.write(data)
    return tuple(paths)


@pytest.fixture
async def tls_front(rabbitmq_url, tmp_path, monkeypatch):
    """TLS in front of the real broker: a TLS listener on 127.0.0.1 whose certificate names "localhost", relaying
    the bytes to RabbitMQ (the broker of `infra.sh` has no TLS listener). Its CA is trusted through SSL_CERT_FILE."""
    import ssl

    ca, cert, key = _certificates(tmp_path)
    monkeypatch.setenv("SSL_CERT_FILE", ca)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    broker = urlsplit(rabbitmq_url)

    async def relay(reader, writer):
        up_reader, up_writer = await asyncio.open_connection(broker.hostname, broker.port)

        async def pipe(source, sink):
            try:
                while data := await source.read(65536):
                    sink.write(data)
                    await sink.drain()
            except (ConnectionError, ssl.SSLError):
                pass
            finally:
                sink.close()

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))

    server = await asyncio.start_server(relay, "127.0.0.1", 0, ssl=context)
    yield server.sockets[0].getsockname()[1]
    server.close()


async def test_tls_checks_the_certificate_against_the_host_name(rabbitmq_url, broker, tls_front):
    channel, prefix, made = broker
    queue = f"{prefix}-tls"
    made.append(("queue", queue))
    secure = login(rabbitmq_url, host="localhost", port=tls_front, tls=True)
    out = await run_node(RabbitMq, [{"json": {"over": "tls"}}], params={"queue": queue},
                         credentials={"rabbitmq": secure}, settings={"http_allow_list": ["localhost", "127.0.0.1"]})
    assert out["main"][0]["json"]["success"] is True
    (message,) = await read(channel, queue, 1)
    assert json.loads(message.body) == {"over": "tls"}
    # The same server by address: connected to the checked address, the certificate (for "localhost") is refused.
    with pytest.raises(NodeUserError, match="TLS certificate was refused .*(IP address mismatch|127.0.0.1)"):
        await run_node(RabbitMq, [{"json": {}}], params={"queue": queue},
                       credentials={"rabbitmq": {**secure, "host": "127.0.0.1"}}, settings=LOOPBACK)
