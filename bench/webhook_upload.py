"""Memory of a large upload through a webhook into storage (issue #15's target: RSS growth < 100 MB for 1 GB).

    .venv/bin/python bench/webhook_upload.py              # 256 MB, local storage
    .venv/bin/python bench/webhook_upload.py --mb 1024    # the issue's size
    LINKFLOW_STORAGE_BACKEND=s3 LINKFLOW_STORAGE_S3_ENDPOINT_URL=http://127.0.0.1:19000 \\
      LINKFLOW_STORAGE_S3_ACCESS_KEY_ID=test LINKFLOW_STORAGE_S3_SECRET_ACCESS_KEY=test \\
      .venv/bin/python bench/webhook_upload.py           # into S3 (infra.sh up s3; the bucket is created)

One process: the app on uvicorn (a thread, loopback), the body sent by httpx from the same
process as a stream of 1 MB chunks (application/octet-stream, past the body limit: stored only),
to a workflow of one Webhook node that answers at once. Prints the peak RSS growth of the process
over the upload (server and client together), and its time. (Starlette's test client would read
the whole body into memory first, so it cannot measure this.)
"""

from __future__ import annotations

import argparse
import os
import resource
import tempfile
import time

os.environ.setdefault("LINKFLOW_DATA_DIR", tempfile.mkdtemp(prefix="linkflow-bench-"))
os.environ.setdefault("LINKFLOW_LOG_LEVEL", "WARNING")
os.environ.setdefault("LINKFLOW_HTTP_WEBHOOK_FILE_LIMIT_BYTES", str(2 << 30))

import socket  # noqa: E402
import threading  # noqa: E402

import httpx  # noqa: E402
import uvicorn  # noqa: E402

from backend.app import create_app  # noqa: E402
from backend.db import migrate  # noqa: E402
from backend.db.session import session_scope  # noqa: E402
from backend.settings import get_settings  # noqa: E402
from backend.storage.service import get_storage  # noqa: E402
from backend.users.service import create_user  # noqa: E402
from backend.webhooks.service import invalidate_cache  # noqa: E402
from backend.workflows import activation  # noqa: E402
from backend.workflows.models import Workflow  # noqa: E402
from backend.workflows.service import save_version  # noqa: E402

MB = 1024 * 1024


def deploy() -> None:
    migrate.upgrade(get_settings().database_url)
    hook = {"id": "hook", "name": "Webhook", "type": "webhook", "version": 1, "position": [0, 0],
            "parameters": {"path": "upload", "method": "POST", "respond": "immediately"}}
    with session_scope() as session:
        user, team = create_user(session, email="bench@example.com", password="a long password!")
        workflow = Workflow(team_id=team.id, name="upload", created_by=user.id)
        session.add(workflow)
        session.flush()
        save_version(session, workflow, {"nodes": [hook], "connections": []}, user_id=user.id)
        activation.activate(session, workflow, user_id=user.id)
    invalidate_cache()


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def serve() -> tuple[uvicorn.Server, threading.Thread, str]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(create_app(), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    return server, thread, f"http://127.0.0.1:{port}"


def main(mb: int) -> None:
    deploy()
    storage = get_storage()
    if hasattr(storage, "ensure_bucket"):
        storage.ensure_bucket()
    chunk = os.urandom(MB)
    server, thread, base = serve()
    with httpx.Client(base_url=base, timeout=600) as client:
        client.post("/webhook/upload", content=b"warm-up", headers={"Content-Type": "application/octet-stream"})
        before, started = rss_mb(), time.perf_counter()
        answer = client.post("/webhook/upload", content=(chunk for _ in range(mb)),
                             headers={"Content-Type": "application/octet-stream"})
        seconds = time.perf_counter() - started
    time.sleep(1)  # the queued run's hand-off (sent after the answer) before the server stops
    server.should_exit = True
    thread.join(30)
    assert answer.status_code == 202, answer.text
    print(f"upload={mb:,} MB backend={get_settings().storage.backend} wall={seconds:.1f} s "
          f"({mb / seconds:,.0f} MB/s) peak RSS growth={rss_mb() - before:,.0f} MB (process peak {rss_mb():,.0f} MB)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mb", type=int, default=256)
    main(parser.parse_args().mb)
