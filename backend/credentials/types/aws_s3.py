"""AWS (or S3-compatible) access keys; tested with ListBuckets, or HeadBucket when a bucket is set.

botocore signs the requests; they are sent by httpx through the address policy's guarded
transport (a ``before-send`` handler), so a custom ``endpoint_url`` that is, or resolves
to, an internal address is refused, and the connection goes to the checked address.
"""

from __future__ import annotations

import asyncio
import functools
import io

import boto3
import httpx
from botocore.awsrequest import AWSPreparedRequest, AWSResponse
from botocore.config import Config
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectTimeoutError,
    EndpointConnectionError,
    ReadTimeoutError,
)
from pydantic import Field, SecretStr

from backend.credentials.types._http import shown_url
from backend.credentials.types.base import CredentialFields, CredentialType, TestResult, secret
from backend.outbound import address_policy
from nodes.sdk import NodeError, NodeUserError
from nodes.sdk.net import GuardedTransport


class AwsS3Fields(CredentialFields):
    access_key_id: str = Field(min_length=1, description="Access key id (AKIA...)")
    secret_access_key: SecretStr = secret(description="Secret access key")
    region: str = Field("us-east-1", min_length=1, description="Region, e.g. eu-central-1")
    endpoint_url: str = Field("", description="S3-compatible endpoint (MinIO, R2...); empty for AWS")
    bucket: str = Field("", description="Optional: a bucket to check access to (HeadBucket)")


class AwsS3(CredentialType):
    type = "aws_s3"
    display_name = "AWS S3"
    description = "Access keys for Amazon S3 or an S3-compatible store."
    icon = "cloud"
    Fields = AwsS3Fields

    def inject(self, values: AwsS3Fields) -> dict:
        """Keyword arguments for ``boto3.client("s3", ...)``."""
        return {"aws_access_key_id": values.access_key_id,
                "aws_secret_access_key": values.secret_access_key.get_secret_value(),
                "region_name": values.region, "endpoint_url": values.endpoint_url or None}

    async def test(self, values: AwsS3Fields) -> TestResult:
        return await asyncio.to_thread(_check, self.inject(values), values.bucket, self.test_timeout_s)


def _check(params: dict, bucket: str, timeout_s: float) -> TestResult:
    config = Config(connect_timeout=timeout_s, read_timeout=timeout_s, retries={"max_attempts": 1})
    client = boto3.client("s3", config=config, **params)
    with httpx.Client(transport=GuardedTransport(address_policy()), trust_env=False, timeout=timeout_s) as http:
        client.meta.events.register("before-send.s3", functools.partial(_send, http))
        try:
            if bucket:
                client.head_bucket(Bucket=bucket)
                return TestResult(True, f"the keys can reach bucket {bucket!r}")
            count = len(client.list_buckets().get("Buckets", []))
            return TestResult(True, f"the keys are valid ({count} bucket(s) visible)")
        except NodeError as exc:  # refused by the address policy, or an unknown host
            return TestResult(False, exc.message)
        except ClientError as exc:
            error = exc.response.get("Error", {})
            status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
            return TestResult(False, f"S3 refused the request: {error.get('Code', 'error')} ({status})")
        except BotoCoreError as exc:
            return TestResult(False, f"could not reach S3: {type(exc).__name__}: {exc}")
        finally:
            client.close()


def _send(http: httpx.Client, request: AWSPreparedRequest, **_) -> AWSResponse:
    """Send a signed botocore request with httpx (the body read whole: tests and small calls)."""
    body = request.body.read() if hasattr(request.body, "read") else request.body
    headers = httpx.Headers(dict(request.headers.items()))
    headers.setdefault("accept-encoding", "identity")  # botocore reads the body as sent, undecoded
    try:
        response = http.request(request.method, request.url, headers=headers, content=body)
    except (httpx.InvalidURL, httpx.UnsupportedProtocol):
        raise NodeUserError(f"{shown_url(request.url)} is not a valid http(s) URL; check the endpoint") from None
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
