"""Backups of LinkFlow's stores, and the restore. Runs in the LinkFlow image (the backup CronJob) or
anywhere with pg_dump/pg_restore, redis-cli and Python with boto3.

  backup.py postgres --to DEST [--retention-days N]   pg_dump, custom format, then prune old dumps
  backup.py restore-postgres --from DUMP [--to-url URL]   pg_restore --clean into the database
  backup.py redis --to DEST [--retention-days N]      an RDB snapshot over the wire (redis-cli --rdb)
  backup.py elasticsearch --repository NAME           a snapshot into a registered snapshot repository

DEST is a folder or s3://bucket/prefix (boto3: AWS_* variables, AWS_ENDPOINT_URL_S3 for an S3-compatible
store). DUMP is a file, an s3:// object, or `latest` under --to's location. The database is
LINKFLOW_DATABASE_URL (the app's SQLAlchemy URL; the driver suffix is dropped for the PostgreSQL tools).
The restore drill is in the project README ("Backup and restore").
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import subprocess
import sys
import tempfile
import urllib.request
from pathlib import Path

STAMP = "%Y%m%dT%H%M%SZ"


def libpq_url(url: str) -> str:
    """postgresql+psycopg://... -> postgresql://... (what pg_dump and pg_restore understand)."""
    scheme, _, rest = url.partition("://")
    if not scheme.startswith("postgresql"):
        raise SystemExit(f"backup: {scheme}:// is not PostgreSQL; set LINKFLOW_DATABASE_URL to the PostgreSQL URL")
    return f"postgresql://{rest}"


def tool(name: str) -> str:
    """The newest installed PostgreSQL client (Debian keeps one folder per major version)."""
    versions = sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"), key=lambda p: int(p.parts[-3]))
    found = str(versions[-1]) if versions else shutil.which(name)
    if not found:
        raise SystemExit(f"backup: {name} is not installed (Debian: apt-get install postgresql-client)")
    return found


class Store:
    """A folder or an S3 prefix holding dated backups named <kind>-<stamp>.<ext>."""

    def __init__(self, location: str) -> None:
        self.location = location.rstrip("/")
        self.s3 = location.startswith("s3://")
        if self.s3:
            import boto3

            self.bucket, _, self.prefix = self.location.removeprefix("s3://").partition("/")
            self.client = boto3.client("s3", endpoint_url=os.environ.get("AWS_ENDPOINT_URL_S3") or None)
        else:
            Path(self.location).mkdir(parents=True, exist_ok=True)

    def put(self, path: Path, name: str) -> str:
        if self.s3:
            key = f"{self.prefix}/{name}" if self.prefix else name
            self.client.upload_file(str(path), self.bucket, key)
            return f"s3://{self.bucket}/{key}"
        target = Path(self.location) / name
        shutil.copyfile(path, target)
        return str(target)

    def names(self) -> list[str]:
        if not self.s3:
            return sorted(p.name for p in Path(self.location).iterdir() if p.is_file())
        pages = self.client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=self.prefix)
        return sorted(obj["Key"].rsplit("/", 1)[-1] for page in pages for obj in page.get("Contents", []))

    def get(self, name: str, into: Path) -> Path:
        if self.s3:
            self.client.download_file(self.bucket, f"{self.prefix}/{name}" if self.prefix else name, str(into))
        else:
            shutil.copyfile(Path(self.location) / name, into)
        return into

    def delete(self, name: str) -> None:
        if self.s3:
            self.client.delete_object(Bucket=self.bucket, Key=f"{self.prefix}/{name}" if self.prefix else name)
        else:
            (Path(self.location) / name).unlink()

    def prune(self, kind: str, keep_days: int, now: dt.datetime) -> list[str]:
        """Delete this kind's backups older than keep_days; the newest one is always kept."""
        ours = [n for n in self.names() if n.startswith(f"{kind}-")]
        removed = []
        for name in ours[:-1]:
            taken = dt.datetime.strptime(name.split("-", 1)[1].split(".")[0], STAMP).replace(tzinfo=dt.UTC)
            if now - taken > dt.timedelta(days=keep_days):
                self.delete(name)
                removed.append(name)
        return removed


def backup_postgres(args: argparse.Namespace) -> dict:
    url, now = libpq_url(args.url), dt.datetime.now(dt.UTC)
    name = f"postgres-{now.strftime(STAMP)}.dump"
    with tempfile.TemporaryDirectory() as tmp:
        dump = Path(tmp) / name
        subprocess.run([tool("pg_dump"), "--format=custom", "--compress=6", "--no-owner", "--no-privileges",
                        f"--file={dump}", f"--dbname={url}"], check=True)
        store = Store(args.to)
        where = store.put(dump, name)
        removed = store.prune("postgres", args.retention_days, now)
        return {"backup": where, "bytes": dump.stat().st_size, "pruned": removed}


def restore_postgres(args: argparse.Namespace) -> dict:
    url = libpq_url(args.to_url)
    with tempfile.TemporaryDirectory() as tmp:
        dump = fetch_dump(args.source, args.store, Path(tmp))
        # --clean --if-exists: what the dump holds is dropped and recreated, in one transaction
        subprocess.run([tool("pg_restore"), "--clean", "--if-exists", "--no-owner", "--no-privileges",
                        "--single-transaction", "--exit-on-error", f"--dbname={url}", str(dump)], check=True)
        return {"restored": dump.name, "into": url.rsplit("@", 1)[-1]}


def fetch_dump(source: str, store: str | None, tmp: Path) -> Path:
    """A local path to the dump: `latest` under --store, an s3:// object, or the file given."""
    if source == "latest":
        if not store:
            raise SystemExit("restore: --from latest needs --store (the folder or s3:// prefix of the backups)")
        dumps = [n for n in Store(store).names() if n.startswith("postgres-")]
        if not dumps:
            raise SystemExit(f"restore: no postgres-*.dump under {store}")
        return Store(store).get(dumps[-1], tmp / dumps[-1])
    if source.startswith("s3://"):
        location, _, name = source.rpartition("/")
        return Store(location).get(name, tmp / name)
    return Path(source)


def backup_redis(args: argparse.Namespace) -> dict:
    now = dt.datetime.now(dt.UTC)
    name = f"redis-{now.strftime(STAMP)}.rdb"
    with tempfile.TemporaryDirectory() as tmp:
        rdb = Path(tmp) / name
        subprocess.run(["redis-cli", "-u", args.redis_url, "--rdb", str(rdb)], check=True,
                       stdout=subprocess.DEVNULL)
        store = Store(args.to)
        return {"backup": store.put(rdb, name), "bytes": rdb.stat().st_size,
                "pruned": store.prune("redis", args.retention_days, now)}


def backup_elasticsearch(args: argparse.Namespace) -> dict:
    """Elasticsearch snapshots itself into a repository registered beforehand (e.g. an S3 repository)."""
    name = f"linkflow-{dt.datetime.now(dt.UTC).strftime(STAMP).lower()}"
    url = f"{args.es_url.rstrip('/')}/_snapshot/{args.repository}/{name}?wait_for_completion=true"
    request = urllib.request.Request(url, method="PUT", data=json.dumps({"indices": args.indices}).encode(),
                                     headers={"content-type": "application/json"})
    with urllib.request.urlopen(request, timeout=3600) as answer:
        return {"snapshot": name, "state": json.load(answer)["snapshot"]["state"]}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="backup.py", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    pg = sub.add_parser("postgres")
    pg.add_argument("--url", default=os.environ.get("LINKFLOW_DATABASE_URL", ""))
    pg.add_argument("--to", required=True)
    pg.add_argument("--retention-days", type=int, default=14)
    restore = sub.add_parser("restore-postgres")
    restore.add_argument("--from", dest="source", required=True, help="a dump file, an s3:// object, or latest")
    restore.add_argument("--store", help="where `latest` looks (a folder or s3://bucket/prefix)")
    restore.add_argument("--to-url", default=os.environ.get("LINKFLOW_DATABASE_URL", ""))
    redis = sub.add_parser("redis")
    redis.add_argument("--redis-url", default=os.environ.get("LINKFLOW_REDIS_URL", ""))
    redis.add_argument("--to", required=True)
    redis.add_argument("--retention-days", type=int, default=7)
    es = sub.add_parser("elasticsearch")
    es.add_argument("--es-url", default=os.environ.get("LINKFLOW_SEARCH_ELASTICSEARCH_URL", "http://127.0.0.1:9200"))
    es.add_argument("--repository", required=True)
    es.add_argument("--indices", default="linkflow-*")
    args = parser.parse_args(argv)
    handler = {"postgres": backup_postgres, "restore-postgres": restore_postgres, "redis": backup_redis,
               "elasticsearch": backup_elasticsearch}[args.command]
    print(json.dumps(handler(args)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
