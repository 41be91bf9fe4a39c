"""Objects in an S3 bucket (AWS or any S3-compatible server through ``endpoint_url``).

Uploads go through boto3's managed transfer: past ``multipart_threshold`` an object is sent
as a multipart upload, part by part, read from the source in chunks. Downloads are streamed
from the response body. Every key is put under ``prefix`` (one bucket can serve several
installations); team isolation is the caller's key layout (``backend/storage/keys.py``).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, BinaryIO

from backend.storage.ports import CHUNK_BYTES, ObjectInfo, ObjectMissing, as_stream, check_key, check_prefix

if TYPE_CHECKING:
    from botocore.exceptions import ClientError

# boto3 and botocore are imported where they are used, not at module level: the default (local) storage
# never needs them, and loading them costs ~0.1 s at start-up.

_MISSING = {"NoSuchKey", "404", "NotFound"}
_DELETE_BATCH = 1000  # the most DeleteObjects takes at once


@dataclass(frozen=True, slots=True)
class S3Options:
    bucket: str
    prefix: str = ""
    endpoint_url: str = ""
    region: str = "us-east-1"
    access_key_id: str = ""
    secret_access_key: str = ""
    sse: str = ""  # "", "AES256" or "aws:kms"
    sse_kms_key_id: str = ""
    multipart_threshold_bytes: int = 8 * 1024 * 1024
    multipart_chunk_bytes: int = 8 * 1024 * 1024


class S3Storage:
    def __init__(self, options: S3Options, client=None) -> None:
        from boto3.s3.transfer import TransferConfig

        self.options = options
        self.client = client or _client(options)
        self._prefix = check_prefix(options.prefix)
        self._transfer = TransferConfig(multipart_threshold=options.multipart_threshold_bytes,
                                        multipart_chunksize=options.multipart_chunk_bytes,
                                        max_concurrency=2, use_threads=True)

    def put(self, key: str, data: bytes | BinaryIO) -> int:
        counter = _Counting(as_stream(data))
        self.client.upload_fileobj(counter, self.options.bucket, self._key(key), ExtraArgs=self._sse(),
                                   Config=self._transfer)
        return counter.size

    def open(self, key: str, chunk_bytes: int = CHUNK_BYTES) -> Iterator[bytes]:
        from botocore.exceptions import ClientError

        try:
            response = self.client.get_object(Bucket=self.options.bucket, Key=self._key(key))
        except ClientError as exc:
            raise _missing_or(exc, key) from None
        return _chunks(response["Body"], chunk_bytes)

    def info(self, key: str) -> ObjectInfo:
        from botocore.exceptions import ClientError

        try:
            head = self.client.head_object(Bucket=self.options.bucket, Key=self._key(key))
        except ClientError as exc:
            raise _missing_or(exc, key) from None
        return ObjectInfo(key, head["ContentLength"], head["LastModified"])

    def copy(self, source: str, target: str) -> None:
        from botocore.exceptions import ClientError

        try:  # managed copy: multipart (UploadPartCopy) for large objects, server-side either way
            self.client.copy({"Bucket": self.options.bucket, "Key": self._key(source)}, self.options.bucket,
                             self._key(target), ExtraArgs=self._sse(), Config=self._transfer)
        except ClientError as exc:
            raise _missing_or(exc, source) from None

    def delete_prefix(self, prefix: str) -> int:
        keys, total = [], 0
        for info in self.list(prefix):
            keys.append({"Key": self._key(info.key)})
            if len(keys) == _DELETE_BATCH:
                total += self._delete(keys)
                keys = []
        return total + (self._delete(keys) if keys else 0)

    def list(self, prefix: str) -> Iterator[ObjectInfo]:
        prefix = check_prefix(prefix)
        full = "/".join(p for p in (self._prefix, prefix) if p)
        pages = self.client.get_paginator("list_objects_v2").paginate(
            Bucket=self.options.bucket, Prefix=f"{full}/" if full else "")
        strip = len(self._prefix) + 1 if self._prefix else 0
        for page in pages:
            for item in page.get("Contents", ()):
                yield ObjectInfo(item["Key"][strip:], item["Size"], item["LastModified"])

    def check(self) -> None:
        """Raises unless the bucket exists and these credentials may use it (for /ready)."""
        self.client.head_bucket(Bucket=self.options.bucket)

    def ensure_bucket(self) -> None:
        """Create the bucket if it is missing (local servers and tests; in AWS it is provisioned)."""
        from botocore.exceptions import ClientError

        try:
            self.client.head_bucket(Bucket=self.options.bucket)
        except ClientError:
            self.client.create_bucket(Bucket=self.options.bucket)

    def _delete(self, keys: list[dict]) -> int:
        answer = self.client.delete_objects(Bucket=self.options.bucket, Delete={"Objects": keys, "Quiet": True})
        errors = answer.get("Errors") or []
        if errors:
            raise OSError(f"S3 refused to delete {len(errors)} objects, first {errors[0]}")
        return len(keys)

    def _key(self, key: str) -> str:
        key = check_key(key)
        return f"{self._prefix}/{key}" if self._prefix else key

    def _sse(self) -> dict:
        if not self.options.sse:
            return {}
        extra = {"ServerSideEncryption": self.options.sse}
        if self.options.sse == "aws:kms" and self.options.sse_kms_key_id:
            extra["SSEKMSKeyId"] = self.options.sse_kms_key_id
        return extra


class _Counting:
    """A file-like wrapper that counts what boto3 reads (the size without a seek or a second pass)."""

    def __init__(self, source: BinaryIO) -> None:
        self._source, self.size = source, 0

    def read(self, size: int = -1) -> bytes:
        chunk = self._source.read(size)
        self.size += len(chunk)
        return chunk


def _client(options: S3Options):
    import boto3
    from botocore.config import Config

    credentials = {}
    if options.access_key_id:
        credentials = {"aws_access_key_id": options.access_key_id, "aws_secret_access_key": options.secret_access_key}
    return boto3.session.Session().client(
        "s3", endpoint_url=options.endpoint_url or None, region_name=options.region,
        # S3-compatible servers mostly want path-style URLs; AWS itself picks what the bucket name allows.
        config=Config(retries={"mode": "standard", "max_attempts": 5},
                      s3={"addressing_style": "path" if options.endpoint_url else "auto"},
                      request_checksum_calculation="when_required", response_checksum_validation="when_required"),
        **credentials)


def _missing_or(exc: ClientError, key: str) -> Exception:
    code = str(exc.response.get("Error", {}).get("Code", ""))
    return ObjectMissing(key) if code in _MISSING else exc


def _chunks(body, chunk_bytes: int) -> Iterator[bytes]:
    try:
        yield from body.iter_chunks(chunk_bytes)
    finally:
        body.close()
