"""The S3 node without a server: parameters (the server: tests/integration/test_node_s3.py)."""

import pytest
from pydantic import ValidationError

from nodes.builtin.s3 import S3Parameters


@pytest.mark.parametrize(("params", "message"), [
    ({"operation": "get", "bucket": "b-1"}, "get needs a key"),
    ({"operation": "list"}, "bucket"),
    ({"operation": "presign", "bucket": "b-1", "key": "k", "expires_s": 604_801}, "expires_s"),
    ({"operation": "copy", "bucket": "b-1", "key": "k"}, "operation"),
])
def test_incomplete_parameters_are_refused(params, message):
    with pytest.raises(ValidationError, match=message):
        S3Parameters(**params)
