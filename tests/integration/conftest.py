"""Real PostgreSQL and Redis, started by `make infra-up` (deploy/local/infra.sh).

Without them a test is skipped on a laptop but FAILS under CI=true: CI must never pass
by silently not testing the scaled-out path.
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest
import redis


def _require(var: str) -> str:
    value = os.environ.get(var)
    if value:
        return value
    message = f"{var} is not set: run `make infra-up` and `eval \"$(bash deploy/local/infra.sh env)\"`"
    if os.environ.get("CI") == "true":
        pytest.fail(message)
    pytest.skip(message)


@contextmanager
def _fresh_database() -> Iterator[str]:
    base = _require("LINKFLOW_TEST_POSTGRES_URL")
    admin_dsn = base.replace("postgresql+psycopg://", "postgresql://")
    name = f"lf_{uuid.uuid4().hex[:12]}"
    try:
        with psycopg.connect(admin_dsn, autocommit=True, connect_timeout=5) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
    except psycopg.OperationalError as exc:
        pytest.fail(f"PostgreSQL at {admin_dsn} is not reachable ({exc}); run `make infra-up`")
    yield base.rsplit("/", 1)[0] + f"/{name}"
    with psycopg.connect(admin_dsn, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def postgres_url():
    """A fresh, empty database for this test on the real server; dropped afterwards."""
    with _fresh_database() as url:
        yield url


@pytest.fixture(scope="module")
def module_postgres_url():
    """A fresh, empty database shared by the tests of one module (too many to migrate one each)."""
    with _fresh_database() as url:
        yield url


def _worker_database(url: str) -> str:
    """The Redis database of this pytest-xdist worker (gw0 -> 1, gw1 -> 2, ...; 0 without xdist): the tests
    flush theirs before and after, so two workers must not share one."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    if not worker.startswith("gw"):
        return url
    index = int(worker[2:]) + 1
    if index > 15:
        pytest.fail(f"Redis has 16 databases; run the integration tests on at most 15 workers, not {worker}+")
    return urlunsplit(urlsplit(url)._replace(path=f"/{index}"))


@pytest.fixture
def redis_url():
    """This test's Redis database on the real server, empty before and after the test."""
    url = _worker_database(_require("LINKFLOW_TEST_REDIS_URL"))
    client = redis.Redis.from_url(url, socket_connect_timeout=3)
    try:
        client.ping()
    except redis.ConnectionError as exc:
        pytest.fail(f"Redis at {url} is not reachable ({exc}); run `make infra-up`")
    client.flushdb()
    yield url
    client.flushdb()


def _loopback_service(variable: str, service: str, name: str) -> str:
    """The address in ``variable`` of a service `bash deploy/local/infra.sh up <service>` starts (`make test`
    does), checked to answer. Unset: a failure in CI, a skip on a developer's machine that lacks it."""
    value = os.environ.get(variable)
    hint = f"run `bash deploy/local/infra.sh up {service}` and `eval \"$(bash deploy/local/infra.sh env)\"`"
    if not value:
        message = f"{variable} is not set: {hint}"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    host, _, port = value.removeprefix("http://").rstrip("/").rpartition(":")
    try:
        socket.create_connection((host, int(port)), timeout=3).close()
    except (OSError, ValueError) as exc:
        pytest.fail(f"{name} at {value} is not reachable ({exc}); {hint}")
    return value


@pytest.fixture
def mariadb_url():
    """A fresh database on the MariaDB of `bash deploy/local/infra.sh up mariadb` (`make test` starts it); dropped
    afterwards. Its user may create databases named lf_*."""
    import pymysql

    base = _require("LINKFLOW_TEST_MARIADB_URL")
    url = urlsplit(base)
    login = {"host": url.hostname, "port": url.port or 3306, "user": url.username, "password": url.password or ""}
    name = f"lf_{uuid.uuid4().hex[:12]}"
    try:
        conn = pymysql.connect(**login, connect_timeout=5, autocommit=True)
    except pymysql.Error as exc:
        pytest.fail(f"MariaDB at {url.hostname}:{url.port} is not reachable ({exc}); run "
                    "`bash deploy/local/infra.sh up mariadb`")
    with conn.cursor() as cursor:
        cursor.execute(f"CREATE DATABASE `{name}`")
    yield f"mysql://{url.username}:{url.password}@{url.hostname}:{url.port}/{name}"
    with conn.cursor() as cursor:
        cursor.execute(f"DROP DATABASE IF EXISTS `{name}`")
    conn.close()


@pytest.fixture(scope="session")
def ssh_server() -> dict:
    """The private sshd of `bash deploy/local/infra.sh up ssh` (`make test` starts it): host, port, user, the
    client's key file, the host's public key file and (when infra.sh ran as root) a password."""
    host, port = _require("LINKFLOW_TEST_SSH_HOST"), _require("LINKFLOW_TEST_SSH_PORT")
    try:
        socket.create_connection((host, int(port)), timeout=3).close()
    except (OSError, ValueError) as exc:
        pytest.fail(f"sshd at {host}:{port} is not reachable ({exc}); run `bash deploy/local/infra.sh up ssh`")
    return {"host": host, "port": int(port), "user": _require("LINKFLOW_TEST_SSH_USER"),
            "key_file": _require("LINKFLOW_TEST_SSH_KEY_FILE"),
            "host_key_file": _require("LINKFLOW_TEST_SSH_HOST_KEY_FILE"),
            "password": os.environ.get("LINKFLOW_TEST_SSH_PASSWORD")}


@pytest.fixture(scope="session")
def kafka_bootstrap():
    """The real Kafka broker of `bash deploy/local/infra.sh up kafka` (`make test` starts it)."""
    return _loopback_service("LINKFLOW_TEST_KAFKA_BOOTSTRAP", "kafka", "Kafka")


@pytest.fixture(scope="session")
def stripe_mock_url():
    """stripe-mock, Stripe's own API mock, of `bash deploy/local/infra.sh up stripe` (`make test` starts it).
    The only stand-in for Stripe the tests use."""
    return _loopback_service("LINKFLOW_TEST_STRIPE_URL", "stripe", "stripe-mock")


@pytest.fixture
def stripe_proxy(stripe_mock_url):
    """A recording proxy in front of stripe-mock (tests/integration/stripe_proxy.py)."""
    from stripe_proxy import StripeProxy

    proxy = StripeProxy(stripe_mock_url)
    yield proxy
    proxy.close()


@pytest.fixture(scope="session")
def s3_endpoint():
    """The S3-compatible server (moto) of `bash deploy/local/infra.sh up s3` (`make test` starts it)."""
    return _loopback_service("LINKFLOW_TEST_S3_ENDPOINT_URL", "s3", "the S3 server")


@pytest.fixture
def s3_bucket(s3_endpoint, configure):
    """A fresh bucket on the test S3 server, and LINKFLOW_STORAGE_* set to use it."""
    bucket = f"lf-{uuid.uuid4().hex[:12]}"
    configure(STORAGE_BACKEND="s3", STORAGE_S3_ENDPOINT_URL=s3_endpoint, STORAGE_S3_BUCKET=bucket,
              STORAGE_S3_ACCESS_KEY_ID="test", STORAGE_S3_SECRET_ACCESS_KEY="test")
    from backend.storage.service import get_storage

    get_storage().ensure_bucket()
    return bucket


@pytest.fixture(scope="session")
def elasticsearch_url():
    """The real Elasticsearch 8.19 node of `bash deploy/local/infra.sh up elasticsearch` (`make test` starts it)."""
    return _loopback_service("LINKFLOW_TEST_ELASTICSEARCH_URL", "elasticsearch", "Elasticsearch")


@pytest.fixture(scope="session")
def imap_server() -> dict:
    """The Dovecot of `bash deploy/local/infra.sh up imap` (`make test` starts it), checked to log in:
    ``{"host", "port", "imaps_port", "user", "password"}`` (IMAPS and STARTTLS with a self-signed certificate
    for localhost)."""
    import imaplib

    server = {"host": _require("LINKFLOW_TEST_IMAP_HOST"), "port": int(_require("LINKFLOW_TEST_IMAP_PORT")),
              "imaps_port": int(_require("LINKFLOW_TEST_IMAPS_PORT")),
              "user": _require("LINKFLOW_TEST_IMAP_USER"), "password": _require("LINKFLOW_TEST_IMAP_PASSWORD")}
    try:
        client = imaplib.IMAP4(server["host"], server["port"], timeout=5)
        client.login(server["user"], server["password"])
        client.logout()
    except (OSError, imaplib.IMAP4.error) as exc:
        pytest.fail(f"Dovecot at {server['host']}:{server['port']} does not let {server['user']} log in ({exc}); "
                    "run `bash deploy/local/infra.sh up imap`")
    return server


@pytest.fixture(scope="session")
def rabbitmq_url():
    """The RabbitMQ of `bash deploy/local/infra.sh up rabbitmq` (`make test` starts it): an amqp:// URL (user
    linkflow/linkflow, vhost /). Tests use queue and exchange names of their own and delete them."""
    value = _require_service("LINKFLOW_TEST_RABBITMQ_URL", "rabbitmq")
    url = urlsplit(value)
    _loopback_port(url.hostname or "", url.port or 5672, value, "rabbitmq", "RabbitMQ")
    return value


def _require_service(variable: str, service: str) -> str:
    value = os.environ.get(variable)
    if not value:
        message = (f"{variable} is not set: run `bash deploy/local/infra.sh up {service}` and "
                   "`eval \"$(bash deploy/local/infra.sh env)\"`")
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    return value


def _loopback_port(host: str, port: int, value: str, service: str, name: str) -> None:
    try:
        socket.create_connection((host, port), timeout=3).close()
    except OSError as exc:
        pytest.fail(f"{name} at {value} is not reachable ({exc}); run `bash deploy/local/infra.sh up {service}`")
