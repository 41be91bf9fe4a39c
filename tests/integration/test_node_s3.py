"""The S3 node against the S3-compatible server (moto) of `bash deploy/local/infra.sh up s3`."""

from __future__ import annotations

import uuid

import boto3
import httpx
import pytest

from nodes.builtin.s3 import S3
from nodes.sdk import NodeUserError
from nodes.sdk.net import AddressRefused
from nodes.sdk.testing import FakeContext, run_context

LOOPBACK = {"http_allow_list": ["127.0.0.1"]}


@pytest.fixture
def login(s3_endpoint):
    return {"aws_access_key_id": "test", "aws_secret_access_key": "test", "region_name": "us-east-1",
            "endpoint_url": s3_endpoint}


@pytest.fixture
def bucket(login):
    name = f"lf-node-{uuid.uuid4().hex[:12]}"
    client = boto3.client("s3", **login)
    client.create_bucket(Bucket=name)
    yield name
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=name):
        for entry in page.get("Contents", []):
            client.delete_object(Bucket=name, Key=entry["Key"])
    client.delete_bucket(Bucket=name)


def _ctx(login, params, **extra) -> FakeContext:
    return FakeContext(S3, params, credentials={"aws": login}, settings=LOOPBACK, **extra)


async def test_put_list_get_delete_round_trip(login, bucket):
    ctx = _ctx(login, [{"operation": "put", "bucket": bucket, "key": f"reports/{i}.txt", "text": f"report {i}"}
                       for i in range(3)])
    put = await run_context(S3, ctx, [{"json": {}}] * 3)
    assert [o["json"]["size"] for o in put["main"]] == [8, 8, 8]

    ctx = _ctx(login, {"operation": "list", "bucket": bucket, "prefix": "reports/", "limit": 2})
    listed = (await run_context(S3, ctx, [{"json": {}}]))["main"]
    assert [o["json"]["key"] for o in listed] == ["reports/0.txt", "reports/1.txt"]

    ctx = _ctx(login, {"operation": "get", "bucket": bucket, "key": "reports/2.txt"})
    got = (await run_context(S3, ctx, [{"json": {}}]))["main"][0]
    assert got["json"]["content_type"].startswith("text/plain") and got["json"]["size"] == 8
    assert ctx.binaries[got["binary"]["data"]["id"]] == b"report 2"

    # the file just downloaded goes back up under another key, as a binary
    ctx.__init__(S3, {"operation": "put", "bucket": bucket, "key": "copy.txt"}, credentials={"aws": login},
                 settings=LOOPBACK)
    ctx.binaries = {got["binary"]["data"]["id"]: b"report 2"}
    await run_context(S3, ctx, [got])
    assert boto3.client("s3", **login).get_object(Bucket=bucket, Key="copy.txt")["Body"].read() == b"report 2"

    ctx = _ctx(login, {"operation": "delete", "bucket": bucket, "key": "copy.txt"})
    assert (await run_context(S3, ctx, [{"json": {}}]))["main"][0]["json"]["deleted"] is True


async def test_list_follows_continuation_tokens(login, bucket, monkeypatch):
    import nodes.builtin.s3 as s3_module
    import nodes.sdk.s3_client as s3_client

    monkeypatch.setattr(s3_module, "PAGE_SIZE", 2)  # pages of 2 instead of 1,000: five objects make three pages
    calls: list[str] = []
    monkeypatch.setattr(s3_client, "_send", _counting(s3_client._send, calls))
    client = boto3.client("s3", **login)
    for i in range(5):
        client.put_object(Bucket=bucket, Key=f"k{i}", Body=b"")
    listed = (await run_context(S3, _ctx(login, {"operation": "list", "bucket": bucket, "limit": 4}),
                                [{"json": {}}]))["main"]
    assert [o["json"]["key"] for o in listed] == ["k0", "k1", "k2", "k3"]
    assert len(calls) == 2 and "continuation-token" in calls[1]


def _counting(send, calls):
    def counted(http, request, **kwargs):
        calls.append(request.url)
        return send(http, request, **kwargs)

    return counted


async def test_presigned_url_lets_its_holder_download(login, bucket):
    boto3.client("s3", **login).put_object(Bucket=bucket, Key="shared.txt", Body=b"hello")
    ctx = _ctx(login, {"operation": "presign", "bucket": bucket, "key": "shared.txt", "expires_s": 60})
    signed = (await run_context(S3, ctx, [{"json": {}}]))["main"][0]["json"]
    assert httpx.get(signed["url"]).content == b"hello"
    assert httpx.get(signed["url"].split("?")[0]).status_code == 403


async def test_errors_name_s3s_code_and_message(login, bucket):
    with pytest.raises(NodeUserError, match=f"S3 refused get s3://{bucket}/nope: 404"):
        await run_context(S3, _ctx(login, {"operation": "get", "bucket": bucket, "key": "nope"}), [{"json": {}}])
    with pytest.raises(NodeUserError, match="NoSuchBucket"):
        await run_context(S3, _ctx(login, {"operation": "list", "bucket": "lf-no-such-bucket-here"}), [{"json": {}}])
    with pytest.raises(NodeUserError, match="has no file 'data' to upload"):
        await run_context(S3, _ctx(login, {"operation": "put", "bucket": bucket, "key": "x"}), [{"json": {}}])


async def test_loopback_is_refused_without_the_allow_list(login, bucket):
    ctx = FakeContext(S3, {"operation": "list", "bucket": bucket}, credentials={"aws": login})
    with pytest.raises(AddressRefused):
        await run_context(S3, ctx, [{"json": {}}])
