"""The Redis node without a server: parameters and value encoding (the server: tests/integration)."""

import pytest
from pydantic import ValidationError

from nodes.builtin.redis_node import RedisParameters, _decoded, _encoded


@pytest.mark.parametrize(("params", "message"), [
    ({"operation": "get"}, "get needs a key"),
    ({"operation": "publish"}, "needs a key \\(the channel\\)"),
    ({"operation": "hash_set", "key": "k"}, "needs a field"),
    ({"operation": "flushall", "key": "k"}, "operation"),
    ({"operation": "set", "key": "k", "expire_s": 0}, "expire_s"),
])
def test_incomplete_parameters_are_refused(params, message):
    with pytest.raises(ValidationError, match=message):
        RedisParameters(**params)


def test_values_round_trip_as_text_or_json():
    assert _encoded({"a": [1, "é"]}) == '{"a": [1, "é"]}' and _encoded(True) == "true" and _encoded(None) == ""
    assert _decoded(b'{"a": 1}', True) == {"a": 1}
    assert _decoded(b"not json", True) == "not json"
    assert _decoded({b"k": b"[1]"}, True) == {"k": [1]}
