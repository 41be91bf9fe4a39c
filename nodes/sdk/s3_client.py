"""An S3 client whose requests botocore signs and httpx sends through the platform's address policy (each
connection goes to the checked address). Used by the S3 node and the ``aws_s3`` credential's Test."""

from __future__ import annotations

import functools
import io
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

import httpx

from nodes.sdk.errors import NodeUserError
from nodes.sdk.net import AddressPolicy, GuardedTransport

if TYPE_CHECKING:
    from botocore.awsrequest import AWSPreparedRequest, AWSResponse

# boto3 and botocore are imported where they are used, not at module level: loading them costs ~0.1 s


@contextmanager
def guarded_s3(login: dict, policy: AddressPolicy, timeout_s: float) -> Iterator:
    """`login`: the ``aws_s3`` credential's keyword arguments for ``boto3.client("s3", ...)``."""
    import boto3
    from botocore.config import Config

    config = Config(connect_timeout=timeout_s, read_timeout=timeout_s, retries={"max_attempts": 1},
                    signature_version="s3v4")
    client = boto3.client("s3", config=config, **login)
    try:
        with httpx.Client(transport=GuardedTransport(policy), trust_env=False, timeout=timeout_s) as http:
            client.meta.events.register("before-send.s3", functools.partial(_send, http))
            yield client
    finally:
        client.close()


def _send(http: httpx.Client, request: AWSPreparedRequest, **_) -> AWSResponse:
    """Send a signed botocore request with httpx (the body read whole)."""
    from botocore.awsrequest import AWSResponse
    from botocore.exceptions import ConnectTimeoutError, EndpointConnectionError, ReadTimeoutError

    body = request.body.read() if hasattr(request.body, "read") else request.body
    headers = httpx.Headers(dict(request.headers.items()))
    headers.setdefault("accept-encoding", "identity")  # botocore reads the body as sent, undecoded
    try:
        response = http.request(request.method, request.url, headers=headers, content=body)
    except (httpx.InvalidURL, httpx.UnsupportedProtocol):
        shown = request.url.split("?")[0].split("@")[-1][:100]  # no query or user info: either may hold a secret
        raise NodeUserError(f"{shown} is not a valid http(s) URL; check the endpoint") from None
    except httpx.ConnectTimeout:
        raise ConnectTimeoutError(endpoint_url=request.url) from None
    except httpx.TimeoutException:
        raise ReadTimeoutError(endpoint_url=request.url) from None
    except httpx.TransportError:
        raise EndpointConnectionError(endpoint_url=request.url) from None
    return AWSResponse(request.url, response.status_code, response.headers, _Body(response.content))


class _Body(io.BytesIO):
    """What botocore reads a response from: ``read`` and ``stream`` of urllib3's response."""

    def stream(self, amt: int = 65536, decode_content: bool | None = None):
        while chunk := self.read(amt):
            yield chunk
