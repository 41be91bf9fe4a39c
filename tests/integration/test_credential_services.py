"""The postgres and redis credential types' test() against the real servers of `make infra-up`.

The servers listen on 127.0.0.1, which the address policy refuses unless allowed: the
tests that log in allow it with LINKFLOW_HTTP_ALLOW_LIST, the last ones show the refusal.
"""

from __future__ import annotations

import socket
from urllib.parse import urlparse

import pytest

from backend.credentials.registry import default_registry
from backend.settings import get_settings

pytestmark = pytest.mark.integration


@pytest.fixture
def allow_loopback(monkeypatch):
    monkeypatch.setenv("LINKFLOW_HTTP_ALLOW_LIST", "127.0.0.1")
    get_settings.cache_clear()


def _postgres_values(url: str, **override) -> dict:
    parsed = urlparse(url.replace("postgresql+psycopg://", "postgresql://"))
    return {"host": parsed.hostname, "port": parsed.port or 5432, "database": parsed.path.lstrip("/"),
            "user": parsed.username, "password": parsed.password, "sslmode": "disable", **override}


async def test_postgres_credentials_connect_and_select(postgres_url, allow_loopback):
    postgres = default_registry().get("postgres")
    good = await postgres.test(postgres.Fields.model_validate(_postgres_values(postgres_url)))
    assert good.ok is True and good.message.startswith("connected to ")
    # (the local server trusts loopback logins, so a missing database is the refusal to provoke)
    bad = await postgres.test(postgres.Fields.model_validate(
        _postgres_values(postgres_url, database="no_such_db", password="wrong-pw-77")))
    assert bad.ok is False and 'database "no_such_db" does not exist' in bad.message
    assert "wrong-pw-77" not in bad.message


async def test_redis_credentials_ping(redis_url, allow_loopback):
    redis_type = default_registry().get("redis")
    parsed = urlparse(redis_url)
    values = {"host": parsed.hostname, "port": parsed.port, "database": int(parsed.path.lstrip("/") or 0)}
    result = await redis_type.test(redis_type.Fields.model_validate(values))
    assert result.ok is True and result.message.endswith("answered PING")
    wrong = await redis_type.test(redis_type.Fields.model_validate({**values, "username": "nobody",
                                                                    "password": "wrong-pw-77"}))
    assert wrong.ok is False and "wrong-pw-77" not in wrong.message


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.parametrize("type_name", ["postgres", "redis"])
async def test_without_the_allow_list_the_real_server_is_refused_like_a_closed_port(postgres_url, redis_url,
                                                                                    type_name):
    ctype = default_registry().get(type_name)
    if type_name == "postgres":
        values = _postgres_values(postgres_url)
    else:
        parsed = urlparse(redis_url)
        values = {"host": parsed.hostname, "port": parsed.port}
    real = await ctype.test(ctype.Fields.model_validate(values))
    closed = await ctype.test(ctype.Fields.model_validate({**values, "port": _free_port()}))
    assert real == closed
    assert real.ok is False and real.message.startswith(f"refused to connect to {values['host']}: ")
    assert "a loopback address" in real.message and "LINKFLOW_HTTP_ALLOW_LIST" in real.message
