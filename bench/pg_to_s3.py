"""PostgreSQL -> transform -> S3 CSV with the integration nodes, printed as numbers (issue #17).

    eval "$(bash deploy/local/infra.sh env)"    # PostgreSQL and the S3 server of `make test`
    .venv/bin/python bench/pg_to_s3.py                 # 10,000 rows
    .venv/bin/python bench/pg_to_s3.py --rows 100000

manual_trigger -> PostgreSQL (execute_query: SELECT every row of a table of --rows orders) -> Set (two
computed fields) -> Convert to File (csv) -> S3 (put), run by the engine in this process with the local
storage backend and no step persistence. Makes its own database on LINKFLOW_TEST_POSTGRES_URL and its own
bucket on LINKFLOW_TEST_S3_ENDPOINT_URL, and drops both. Prints wall time, rows/s, peak RSS growth.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import tempfile
import time
import uuid
from urllib.parse import urlsplit

os.environ.setdefault("LINKFLOW_DATA_DIR", tempfile.mkdtemp(prefix="linkflow-bench-"))
os.environ.setdefault("LINKFLOW_LOG_LEVEL", "WARNING")

import boto3  # noqa: E402
import psycopg  # noqa: E402

from backend.engine import EngineServices, ExecutionInfo, NullStepStore, run  # noqa: E402
from backend.storage.binary import StorageBinaryStore  # noqa: E402
from backend.storage.service import get_storage  # noqa: E402

EXECUTION = "0" * 31 + "2"
LOOPBACK = {"http_allow_private": False, "http_allow_list": ["127.0.0.1"]}


def workflow(bucket: str) -> dict:
    def node(id_: str, type_: str, parameters: dict, credentials: dict | None = None) -> dict:
        return {"id": id_, "name": id_, "type": type_, "position": [0, 0], "parameters": parameters,
                "credentials": credentials or {}}

    nodes = [node("start", "manual_trigger", {}),
             node("query", "postgres", {"query": "SELECT id, customer, total, created FROM orders ORDER BY id"},
                  {"postgres": "db"}),
             node("set", "set", {"fields": [{"name": "gross", "value": "{{ round(float($json.total) * 1.19, 2) }}"},
                                            {"name": "customer", "value": "{{ $json.customer.upper() }}"}]}),
             node("csv", "convert_to_file", {"operation": "csv", "file_name": "orders.csv"}),
             node("upload", "s3", {"operation": "put", "bucket": bucket, "key": "exports/orders.csv"},
                  {"aws": "s3"})]
    order = [n["id"] for n in nodes]
    return {"name": "pg to s3 bench", "nodes": nodes,
            "connections": [{"from": a, "to": b} for a, b in zip(order, order[1:], strict=False)]}


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=10_000)
    rows = parser.parse_args().rows
    admin = os.environ["LINKFLOW_TEST_POSTGRES_URL"].replace("postgresql+psycopg://", "postgresql://")
    endpoint = os.environ["LINKFLOW_TEST_S3_ENDPOINT_URL"]
    database, bucket = f"lf_bench_{uuid.uuid4().hex[:8]}", f"lf-bench-{uuid.uuid4().hex[:8]}"
    aws = {"aws_access_key_id": "test", "aws_secret_access_key": "test", "region_name": "us-east-1",
           "endpoint_url": endpoint}
    s3 = boto3.client("s3", **aws)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{database}"')
    url = urlsplit(admin.rsplit("/", 1)[0] + f"/{database}")
    try:
        with psycopg.connect(url.geturl()) as conn:
            conn.execute("CREATE TABLE orders (id int PRIMARY KEY, customer text, total numeric(10,2), "
                         "created timestamptz)")
            conn.execute("INSERT INTO orders SELECT n, 'customer ' || n, n %% 1000 + 0.5, now() "
                         "FROM generate_series(1, %s) AS n", (rows,))
        s3.create_bucket(Bucket=bucket)
        logins = {"db": {"host": url.hostname, "port": url.port, "dbname": database, "user": url.username,
                         "password": url.password, "sslmode": "disable"}, "s3": aws}

        async def credentials(credential_id: str, node_name: str) -> dict:
            return logins[credential_id]

        services = EngineServices(credentials=credentials, settings=LOOPBACK,
                                  binary=StorageBinaryStore(get_storage(), "bench-team", EXECUTION))
        before = rss_mb()
        started = time.perf_counter()
        result = asyncio.run(run(workflow(bucket), execution=ExecutionInfo(id=EXECUTION, mode="manual"),
                                 input_items=[{"json": {}}], store=NullStepStore(), services=services))
        elapsed = time.perf_counter() - started
        assert result.status == "succeeded", result.error
        size = s3.head_object(Bucket=bucket, Key="exports/orders.csv")["ContentLength"]
        print(f"rows: {rows:,}  csv in S3: {size / 1e6:.1f} MB  wall: {elapsed:.2f} s  "
              f"rows/s: {rows / elapsed:,.0f}  peak RSS growth: {rss_mb() - before:.0f} MB (process {rss_mb():.0f} MB)")
    finally:
        if bucket in {b["Name"] for b in s3.list_buckets().get("Buckets", [])}:
            for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
                for entry in page.get("Contents", []):
                    s3.delete_object(Bucket=bucket, Key=entry["Key"])
            s3.delete_bucket(Bucket=bucket)
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')


if __name__ == "__main__":
    main()
