"""The image's HEALTHCHECK: GET /health of whichever listener this container's role has; exit 0 on 200.

`serve` and `up` listen on LINKFLOW_HTTP_PORT; worker, scheduler and consume answer on their ops
listener, LINKFLOW_METRICS_PORT. The role is read from PID 1's command line. Standard library only.
"""

import os
import sys
import urllib.request


def role_args() -> list[str]:
    try:
        with open("/proc/1/cmdline", "rb") as cmdline:
            return cmdline.read().decode(errors="replace").split("\0")
    except OSError:
        return []


web = any(arg in ("serve", "up") for arg in role_args())
port = os.environ.get("LINKFLOW_HTTP_PORT", "8000") if web else os.environ.get("LINKFLOW_METRICS_PORT", "9464")
try:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=4) as answer:
        sys.exit(0 if answer.status == 200 else 1)
except OSError:
    sys.exit(1)
