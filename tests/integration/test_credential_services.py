"""The postgres and redis credential types' test() against the real servers of `make infra-up`."""

from __future__ import annotations

from urllib.parse import urlparse

import pytest

from backend.credentials.registry import default_registry

pytestmark = pytest.mark.integration


def _postgres_values(url: str, **override) -> dict:
    parsed = urlparse(url.replace("postgresql+psycopg://", "postgresql://"))
    return {"host": parsed.hostname, "port": parsed.port or 5432, "database": parsed.path.lstrip("/"),
            "user": parsed.username, "password": parsed.password, "sslmode": "disable", **override}


async def test_postgres_credentials_connect_and_select(postgres_url):
    postgres = default_registry().get("postgres")
    good = await postgres.test(postgres.Fields.model_validate(_postgres_values(postgres_url)))
    assert good.ok is True and good.message.startswith("connected to ")
    # (the local server trusts loopback logins, so a missing database is the refusal to provoke)
    bad = await postgres.test(postgres.Fields.model_validate(
        _postgres_values(postgres_url, database="no_such_db", password="wrong-pw-77")))
    assert bad.ok is False and 'database "no_such_db" does not exist' in bad.message
    assert "wrong-pw-77" not in bad.message


async def test_redis_credentials_ping(redis_url):
    redis_type = default_registry().get("redis")
    parsed = urlparse(redis_url)
    values = {"host": parsed.hostname, "port": parsed.port, "database": int(parsed.path.lstrip("/") or 0)}
    result = await redis_type.test(redis_type.Fields.model_validate(values))
    assert result.ok is True and result.message.endswith("answered PING")
    wrong = await redis_type.test(redis_type.Fields.model_validate({**values, "username": "nobody",
                                                                    "password": "wrong-pw-77"}))
    assert wrong.ok is False and "wrong-pw-77" not in wrong.message
