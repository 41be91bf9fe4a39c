"""`linkflow storage migrate --to s3`, `linkflow storage sweep` and `linkflow storage create-bucket`."""

from __future__ import annotations

import argparse
import json


def add_parser(sub) -> None:
    storage = sub.add_parser("storage", help="move local files to S3, or remove orphaned files now")
    actions = storage.add_subparsers(dest="action", required=True, metavar="ACTION")
    migrate = actions.add_parser("migrate", help="copy the local storage folder into the S3 bucket of "
                                                 "LINKFLOW_STORAGE_S3_* (then set LINKFLOW_STORAGE_BACKEND=s3)")
    migrate.add_argument("--to", required=True, choices=["s3"], help="the backend to move to")
    actions.add_parser("sweep", help="delete stored objects older than a day whose execution is gone")
    actions.add_parser("create-bucket", help="create the bucket of LINKFLOW_STORAGE_S3_BUCKET if it is missing "
                                             "(a local S3-compatible server; in AWS the bucket is provisioned)")


def storage_command(args: argparse.Namespace) -> int:
    from backend.settings import get_settings
    from backend.storage.service import get_storage, sweep_orphans

    if args.action == "sweep":
        print(json.dumps({"deleted": sweep_orphans()}))
        return 0
    if args.action == "create-bucket":
        settings = get_settings().storage
        if settings.backend != "s3":
            print(json.dumps({"bucket": None, "note": "LINKFLOW_STORAGE_BACKEND is not s3: no bucket to create"}))
            return 0
        get_storage().ensure_bucket()
        print(json.dumps({"bucket": settings.s3_bucket}))
        return 0
    from backend.storage.local import LocalStorage
    from backend.storage.migrate import migrate
    from backend.storage.s3 import S3Storage
    from backend.storage.service import s3_options

    settings = get_settings()
    done = migrate(LocalStorage(settings.storage_path), S3Storage(s3_options(settings.storage)))
    print(json.dumps(done.as_dict()))
    get_storage.cache_clear()
    return 1 if done.failures else 0
