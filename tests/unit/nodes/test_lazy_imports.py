"""Start-up stays fast: importing the app and the built-in nodes does not load the client libraries of
nodes that have not run (each costs tens of milliseconds; together they pushed `linkflow up` past 3 s).
The nodes and credential types import them where they use them."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
HEAVY = ("psycopg", "asyncssh", "boto3", "botocore", "aiokafka", "aio_pika", "segno",
         "stripe")  # billing's Stripe client too: only the stripe billing backend calls it


def test_importing_the_app_and_the_nodes_loads_no_node_client_library(tmp_path):
    # the default configuration: SQLite, local storage, in-memory events (no LINKFLOW_* but the data dir)
    env = {k: v for k, v in os.environ.items() if not k.startswith("LINKFLOW_")}
    env["LINKFLOW_DATA_DIR"] = str(tmp_path / "data")
    code = ("import backend.app, nodes.builtin, sys; "
            f"print(sorted(m for m in {HEAVY!r} if m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "[]"
