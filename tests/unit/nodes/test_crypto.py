import hashlib
import hmac
import uuid

import pytest

from nodes.builtin.crypto import Crypto
from nodes.sdk import NodeUserError
from nodes.sdk.testing import run_node


async def value_of(params, items=None):
    out = await run_node(Crypto, items or [{"json": {"a": 1}}], params=params)
    return out["main"][0]["json"][params.get("output_field", "hash")]


@pytest.mark.parametrize("algorithm", ["md5", "sha1", "sha256", "sha512"])
async def test_hash_hex(algorithm):
    assert await value_of({"value": "hello", "algorithm": algorithm}) == hashlib.new(algorithm, b"hello").hexdigest()


async def test_hash_base64_and_output_field_keeps_the_item():
    out = await run_node(Crypto, [{"json": {"a": 1}}], params={"value": "hello", "encoding": "base64",
                                                               "output_field": "meta.digest"})
    assert out["main"] == [{"json": {"a": 1, "meta": {"digest": "LPJNul+wow4m6DsqxbninhsWHlwfp0JecwQzYpOLmCQ="}}}]


async def test_objects_are_hashed_as_compact_json_with_sorted_keys():
    assert await value_of({"value": {"b": 1, "a": 2}}) == hashlib.sha256(b'{"a":2,"b":1}').hexdigest()


async def test_hmac():
    expected = hmac.new(b"key", b"payload", hashlib.sha256).hexdigest()
    assert await value_of({"operation": "hmac", "value": "payload", "secret": "key"}) == expected


async def test_hmac_needs_a_secret():
    with pytest.raises(NodeUserError, match="needs a secret"):
        await value_of({"operation": "hmac", "value": "x"})


async def test_uuid_v4_differs_per_item():
    out = await run_node(Crypto, [{"json": {}}, {"json": {}}], params={"operation": "uuid", "output_field": "id"})
    ids = [uuid.UUID(i["json"]["id"]) for i in out["main"]]
    assert ids[0] != ids[1] and ids[0].version == 4
