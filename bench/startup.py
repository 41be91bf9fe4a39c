"""Start-up of each role on an existing database: time to a 200 from /health, CPU spent by then, idle RSS.

    .venv/bin/python bench/startup.py                              # up and the webhook role, 5 starts each
    .venv/bin/python bench/startup.py --root /tmp/base --root .    # A/B: each checkout in turn, every round
    .venv/bin/python bench/startup.py --server up --rounds 7 --idle 20

Issue #18: `linkflow up` starts in ≤ 3 s once its UI bundle is built, in every role, and idles at ≤ 200 MB.
Each start is a new process on the same SQLite database (created and migrated by a first start that is not
counted; `up` also builds its UI bundle then, for a fixed backend URL, if it is not built yet). Measured per
start: seconds from spawning the process to the first 200 from /health (polled every 20 ms), the CPU
(user + system, whole process tree) spent by then, and the RSS of the tree `--idle` seconds after that with
no traffic (on the last round only, to keep the run short). Starts of the checkouts given with --root
alternate, so a noisy machine affects them alike; the figures to read are the medians. Give each checkout its
own `.web` (a copy, not a link): the bundle's fingerprint covers ui/, so two checkouts whose UI differs sharing one
`.web` rebuild it at every other start (~20 s each).
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from webhook import ROOT, cpu_seconds, free_port, rss_mb, server_command, wait_healthy  # noqa: E402

API_URL = "http://127.0.0.1:3999"  # the UI bundle is built for this backend URL once (as bench/webhook.py does)


def start_once(server: str, root: Path, data_dir: str, idle_s: float) -> dict:
    env = {**os.environ, "LINKFLOW_DATA_DIR": data_dir, "LINKFLOW_LOG_LEVEL": "WARNING", "PYTHONPATH": str(root),
           "REFLEX_API_URL": API_URL}
    env.pop("LINKFLOW_DATABASE_URL", None)
    port = free_port()
    started = time.monotonic()
    proc = subprocess.Popen(server_command(server, port), env=env, cwd=root, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        wait_healthy(port, proc, 600, every_s=0.02)
        result = {"seconds": time.monotonic() - started, "cpu_s": cpu_seconds(proc.pid)}
        if idle_s:
            time.sleep(idle_s)
            result["idle_rss_mb"] = rss_mb(proc.pid)
        return result
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--server", choices=["up", "webhook", "both"], default="both")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--idle", type=float, default=20.0, help="seconds idle before the RSS is read (last round)")
    parser.add_argument("--root", type=Path, action="append", help="a checkout to run (repeat for an A/B)")
    args = parser.parse_args()
    roots = [root.resolve() for root in (args.root or [ROOT])]
    servers = ["up", "webhook"] if args.server == "both" else [args.server]
    data = {(server, root): tempfile.mkdtemp(prefix="linkflow-bench-start-") for server in servers for root in roots}
    results: dict[tuple[str, Path], list[dict]] = {key: [] for key in data}
    for (server, root), data_dir in data.items():  # the first start creates the database (and builds the UI)
        start_once(server, root, data_dir, 0)
    for round_ in range(args.rounds):
        for key, data_dir in data.items():
            run = start_once(*key, data_dir, args.idle if round_ == args.rounds - 1 else 0)
            results[key].append(run)
            print(f"round {round_ + 1} {key[0]:8} {key[1]}: {run['seconds']:.2f} s to /health, "
                  f"{run['cpu_s']:.2f} s CPU" + (f", idle RSS {run['idle_rss_mb']:.0f} MB" if "idle_rss_mb" in run
                                                 else ""), flush=True)
    print("\n| what runs | checkout | start to /health s (each) | median s | CPU s by then (median) | idle RSS MB |")
    print("|---|---|---|---|---|---|")
    for (server, root), runs in results.items():
        seconds = [run["seconds"] for run in runs]
        idle = next((f"{run['idle_rss_mb']:.0f}" for run in runs if "idle_rss_mb" in run), "—")
        what = "`linkflow up`" if server == "up" else "`serve --role webhook`"
        print(f"| {what} | {root} | {' / '.join(f'{s:.2f}' for s in seconds)} | {statistics.median(seconds):.2f} | "
              f"{statistics.median(run['cpu_s'] for run in runs):.2f} | {idle} |")


if __name__ == "__main__":
    main()
