"""The S3 node: list, get, put and delete objects and presign URLs, on AWS S3 or any S3-compatible store.

* ``list``: objects of ``bucket`` under ``prefix``, one item each (``key, size, last_modified, etag``),
  following S3's continuation tokens page by page up to ``limit``.
* ``get``: the object into the item's binary ``binary_property`` (with ``bucket, key, size, content_type``).
* ``put``: the item's binary ``binary_property`` (or, without one, ``text``) to ``key``.
* ``delete``: the object at ``key``.
* ``presign``: a URL that lets its holder GET (or PUT) ``key`` for ``expires_s`` seconds; nothing is sent.

Requests are signed by botocore and sent with httpx through the platform's address policy (each
connection goes to the checked address), like the ``aws_s3`` credential's test. S3's error code and
message are in the node's error (``NoSuchKey: The specified key does not exist.``); throttling, 5xx and
lost connections are transient, so the node's retry settings apply.
"""

from __future__ import annotations

import asyncio
from typing import Any, Literal

from pydantic import Field, model_validator

from nodes.sdk import Node, NodeError, NodeParameters, NodeTransientError, NodeUserError, show_if
from nodes.sdk.net import AddressPolicy
from nodes.sdk.s3_client import guarded_s3

TIMEOUT_S = 60
MAX_LIST = 100_000
PAGE_SIZE = 1000  # S3's own maximum per ListObjectsV2 call
MAX_GET_BYTES = 100 * 1024 * 1024
_TRANSIENT = {"SlowDown", "Throttling", "ThrottlingException", "RequestTimeout", "ServiceUnavailable",
              "InternalError", "RequestTimeTooSkewed"}


class S3Parameters(NodeParameters):
    operation: Literal["list", "get", "put", "delete", "presign"] = Field("list", description="What to do per item")
    bucket: str = Field(min_length=3, max_length=63, description="The bucket")
    key: str = Field("", max_length=1024, description="get/put/delete/presign: the object's key",
                     json_schema_extra=show_if(operation=["get", "put", "delete", "presign"]))
    prefix: str = Field("", max_length=1024, description="list: only keys starting with this",
                        json_schema_extra=show_if(operation=["list"]))
    limit: int = Field(1000, ge=1, le=MAX_LIST, description="list: at most this many objects",
                       json_schema_extra=show_if(operation=["list"]))
    binary_property: str = Field("data", min_length=1, description="get/put: the item's file field",
                                 json_schema_extra=show_if(operation=["get", "put"]))
    text: str | None = Field(None, description="put: upload this text when the item has no file",
                             json_schema_extra=show_if(operation=["put"]))
    content_type: str = Field("", description="put: the object's Content-Type (default: the file's)",
                              json_schema_extra=show_if(operation=["put"]))
    expires_s: int = Field(3600, ge=1, le=604_800, description="presign: how long the URL works",
                           json_schema_extra=show_if(operation=["presign"]))
    presign_method: Literal["GET", "PUT"] = Field("GET", description="presign: what the URL allows",
                                                  json_schema_extra=show_if(operation=["presign"]))

    @model_validator(mode="after")
    def _key_needed(self) -> S3Parameters:
        if self.operation != "list" and not self.key:
            raise ValueError(f"{self.operation} needs a key")
        return self


class S3(Node):
    """One S3 call (or one listing) per item with the ``aws`` credential."""

    type = "s3"
    display_name = "S3"
    group = "integration"
    icon = "cloud"
    description = "List, download, upload and delete objects in S3 (or MinIO, R2...), and presign URLs."
    Parameters = S3Parameters
    credential_slots = {"aws": ("aws_s3",)}
    side_effects = True

    async def execute(self, ctx, items):
        login = await ctx.credentials("aws")
        policy = AddressPolicy.from_settings(ctx.settings)
        out: list[dict] = []
        for index, item in enumerate(items):
            p = ctx.params(index)
            body = await _upload_body(ctx, p, item, index) if p.operation == "put" else None
            result = await asyncio.to_thread(_call, login, policy, p, body, index)
            if p.operation == "list":
                out += [{"json": entry} for entry in result]
            elif p.operation == "get":
                data, meta = result
                ref = await ctx.put_binary(data, mime_type=meta["content_type"], file_name=p.key.rsplit("/", 1)[-1])
                out.append({"json": meta, "binary": {p.binary_property: ref}})
            else:
                out.append({"json": result})
        return out


async def _upload_body(ctx, p: S3Parameters, item: dict, index: int) -> tuple[bytes, str]:
    ref = (item.get("binary") or {}).get(p.binary_property)
    if ref is not None:
        return await ctx.get_binary(ref), p.content_type or ref.get("mime_type") or "application/octet-stream"
    if p.text is not None:
        return p.text.encode("utf-8"), p.content_type or "text/plain; charset=utf-8"
    raise NodeUserError(f"item {index} has no file {p.binary_property!r} to upload and no text is set",
                        item_index=index)


def _call(login: dict, policy: AddressPolicy, p: S3Parameters, body: tuple[bytes, str] | None, index: int) -> Any:
    where = f"s3://{p.bucket}/{p.key or p.prefix}"
    from botocore.exceptions import BotoCoreError, ClientError  # here: slow to import

    try:
        with guarded_s3(login, policy, TIMEOUT_S) as client:
            return _OPERATIONS[p.operation](client, p, body)
    except NodeError:
        raise
    except ClientError as exc:
        error = exc.response.get("Error", {})
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0
        code = error.get("Code", "error")
        message = f"item {index}: S3 refused {p.operation} {where}: {code}: {error.get('Message', '')}".rstrip(": ")
        if code in _TRANSIENT or status >= 500:
            raise NodeTransientError(message, item_index=index) from None
        raise NodeUserError(message, item_index=index) from None
    except BotoCoreError as exc:
        raise NodeTransientError(f"item {index}: could not reach S3 for {where}: {exc}", item_index=index) from None


def _list(client, p: S3Parameters, body: Any) -> list[dict]:
    found: list[dict] = []
    pages = client.get_paginator("list_objects_v2").paginate(
        Bucket=p.bucket, Prefix=p.prefix, PaginationConfig={"MaxItems": p.limit, "PageSize": min(p.limit, PAGE_SIZE)})
    for page in pages:
        for entry in page.get("Contents", []):
            found.append({"key": entry["Key"], "size": entry["Size"], "last_modified":
                          entry["LastModified"].isoformat(), "etag": entry.get("ETag", "").strip('"')})
    return found[: p.limit]


def _get(client, p: S3Parameters, body: Any) -> tuple[bytes, dict]:
    head = client.head_object(Bucket=p.bucket, Key=p.key)
    if head["ContentLength"] > MAX_GET_BYTES:
        raise NodeUserError(f"s3://{p.bucket}/{p.key} is {head['ContentLength']:,} bytes; at most "
                            f"{MAX_GET_BYTES:,} are read")
    answer = client.get_object(Bucket=p.bucket, Key=p.key)
    data = answer["Body"].read()
    return data, {"bucket": p.bucket, "key": p.key, "size": len(data),
                  "content_type": answer.get("ContentType") or "application/octet-stream",
                  "etag": answer.get("ETag", "").strip('"')}


def _put(client, p: S3Parameters, body: tuple[bytes, str]) -> dict:
    data, content_type = body
    answer = client.put_object(Bucket=p.bucket, Key=p.key, Body=data, ContentType=content_type)
    return {"bucket": p.bucket, "key": p.key, "size": len(data), "etag": answer.get("ETag", "").strip('"')}


def _delete(client, p: S3Parameters, body: Any) -> dict:
    client.delete_object(Bucket=p.bucket, Key=p.key)
    return {"bucket": p.bucket, "key": p.key, "deleted": True}


def _presign(client, p: S3Parameters, body: Any) -> dict:
    method = "get_object" if p.presign_method == "GET" else "put_object"
    url = client.generate_presigned_url(method, Params={"Bucket": p.bucket, "Key": p.key}, ExpiresIn=p.expires_s)
    return {"bucket": p.bucket, "key": p.key, "url": url, "method": p.presign_method, "expires_s": p.expires_s}


_OPERATIONS = {"list": _list, "get": _get, "put": _put, "delete": _delete, "presign": _presign}
