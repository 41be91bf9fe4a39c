"""AWS (or S3-compatible) access keys; tested with ListBuckets, or HeadBucket when a bucket is set.

botocore signs the requests; they are sent by httpx through the address policy's guarded
transport (a ``before-send`` handler), so a custom ``endpoint_url`` that is, or resolves
to, an internal address is refused, and the connection goes to the checked address.
"""

from __future__ import annotations

import asyncio

from pydantic import Field, SecretStr

from backend.credentials.types.base import CredentialFields, CredentialType, TestResult, secret
from backend.outbound import address_policy
from nodes.sdk import NodeError
from nodes.sdk.s3_client import guarded_s3


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
    from botocore.exceptions import BotoCoreError, ClientError  # here: slow to import

    try:
        with guarded_s3(params, address_policy(), timeout_s) as client:
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
