"""Database bytes per execution, with and without offloading step data (issue #15), printed as numbers.

    eval "$(bash deploy/local/infra.sh env)"
    .venv/bin/python bench/db_bytes.py                       # 20 executions per mode, 1,000 items of ~1 KB
    .venv/bin/python bench/db_bytes.py --executions 50 --items 200

A 3-node workflow (manual_trigger -> Set -> Filter keeping half) run by the worker's code
(``worker_runtime.execute``: SQL step store, storage service) on a fresh database of the PostgreSQL
server in LINKFLOW_TEST_POSTGRES_URL (dropped afterwards), once per mode, each in its own process:

* offloading: the defaults (step data past 64 KiB in storage, ports past 16 MiB spilled there);
* inline: LINKFLOW_STORAGE_INLINE_LIMIT_BYTES and LINKFLOW_STORAGE_SPILL_THRESHOLD_BYTES at 1 GiB, so every
  step's items are in its row, as before the storage service.

Prints, per execution, the growth of the executions and execution_steps tables on disk
(``pg_total_relation_size``: heap, TOAST and indexes) and the bytes put in storage instead.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MODES = {"offloading": {}, "inline": {"LINKFLOW_STORAGE_INLINE_LIMIT_BYTES": str(1 << 30),
                                      "LINKFLOW_STORAGE_SPILL_THRESHOLD_BYTES": str(1 << 30)}}
DEFINITION = {
    "name": "db bytes bench",
    "nodes": [
        {"id": "t", "name": "Start", "type": "manual_trigger", "version": 1, "position": [0, 0]},
        {"id": "s", "name": "Tag", "type": "set", "version": 1, "position": [1, 0],
         "parameters": {"fields": [{"name": "seen", "value": True}]}},
        {"id": "f", "name": "Half", "type": "filter", "version": 1, "position": [2, 0],
         "parameters": {"conditions": [{"left": "{{ $json.n % 2 }}", "operation": "equals", "right": 0}]}},
    ],
    "connections": [{"from": "t", "to": "s"}, {"from": "s", "to": "f"}],
}
_TABLES = "SELECT pg_total_relation_size('executions') + pg_total_relation_size('execution_steps')"


def measure(executions: int, items: int) -> dict:
    """In this process, with LINKFLOW_* set by the parent: run the executions, return the sizes."""
    from sqlalchemy import text

    from backend.db import migrate
    from backend.db.session import get_engine, session_scope
    from backend.executions import service, worker_runtime
    from backend.executions.models import Execution
    from backend.settings import get_settings
    from backend.storage import keys
    from backend.storage.service import get_storage
    from backend.users.service import create_user

    migrate.upgrade(get_settings().database_url)
    with session_scope() as session:
        team_id = create_user(session, email="bench@example.com", password="long enough password")[1].id
    with get_engine().connect() as conn:
        before = conn.execute(text(_TABLES)).scalar_one()
    for n in range(executions):
        rows = [{"json": {"n": i, "payload": os.urandom(500).hex()}} for i in range(items)]  # ~1 KB, not compressible
        with session_scope() as session:
            execution_id = service.create_execution(session, team_id=team_id, definition=DEFINITION,
                                                    input_items=rows).id
        worker_runtime.execute(execution_id, f"bench-{n}")
        with session_scope() as session:
            assert session.get(Execution, execution_id).status == "succeeded"
    with get_engine().connect() as conn:
        conn.execute(text("ANALYZE"))
        after = conn.execute(text(_TABLES)).scalar_one()
    stored = sum(info.size for info in get_storage().list(keys.team_prefix(team_id)))
    return {"db": (after - before) / executions, "storage": stored / executions}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--executions", type=int, default=20)
    parser.add_argument("--items", type=int, default=1000)
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(measure(args.executions, args.items)))
        return
    import psycopg

    base = os.environ.get("LINKFLOW_TEST_POSTGRES_URL")
    if not base:
        sys.exit('LINKFLOW_TEST_POSTGRES_URL is not set: eval "$(bash deploy/local/infra.sh env)"')
    admin = base.replace("postgresql+psycopg://", "postgresql://")
    print(f"{args.executions} executions per mode, manual_trigger -> Set -> Filter, {args.items:,} items of ~1 KB")
    for mode, extra in MODES.items():
        name = f"lf_bench_{uuid.uuid4().hex[:10]}"
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        try:
            with tempfile.TemporaryDirectory(prefix="linkflow-db-bench-") as data_dir:
                env = {**os.environ, "LINKFLOW_DATABASE_URL": base.rsplit("/", 1)[0] + f"/{name}",
                       "LINKFLOW_DATA_DIR": data_dir, "LINKFLOW_LOG_LEVEL": "WARNING", **extra}
                out = subprocess.run([sys.executable, __file__, "--child", mode, "--executions",
                                      str(args.executions), "--items", str(args.items)], env=env, cwd=ROOT,
                                     capture_output=True, text=True, check=False)
                if out.returncode != 0:
                    sys.exit(f"{mode} failed:\n{out.stderr[-3000:]}")
                sizes = json.loads(out.stdout.strip().splitlines()[-1])
        finally:
            with psycopg.connect(admin, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        print(f"{mode:>10}: database {sizes['db'] / 1024:,.0f} KiB/execution, storage "
              f"{sizes['storage'] / 1024:,.0f} KiB/execution")


if __name__ == "__main__":
    main()
