"""Per-run cost of the Code node's sandbox against the old unsandboxed child process.

    .venv/bin/python bench/code_sandbox.py [--runs 200] [--items 100]

Runs the same small job (the runner protocol, ``return items`` over ``--items`` items)
alternately in the ``bwrap`` sandbox (the default) and in ``unsafe_process`` (the child
process every run used before), so both see the same machine load; prints the median and
p95 wall time per run and the difference. With ``--network`` the bwrap runs also get the
egress proxy (LINKFLOW_CODE_ALLOW_NETWORK=true).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time

from backend.sandbox import build_sandbox
from backend.settings import CodeSettings, HttpSettings


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


async def measure(runs: int, items: int, network: bool) -> dict[str, list[float]]:
    request = json.dumps({"code": "return items", "mode": "once_for_all",
                          "items": [{"json": {"n": n, "text": "x" * 50}} for n in range(items)]}).encode()
    sandboxes = {"bwrap": build_sandbox(CodeSettings(sandbox="bwrap", allow_network=network), HttpSettings()),
                 "unsafe_process": build_sandbox(CodeSettings(sandbox="unsafe_process"), HttpSettings())}
    for sandbox in sandboxes.values():
        status = sandbox.status()  # the probe is paid once per process, not per run
        assert status.ok, status.detail
        await sandbox.run(request, time_limit_s=10, memory_mb=256)  # warm the page cache
    times: dict[str, list[float]] = {name: [] for name in sandboxes}
    for _ in range(runs):
        for name, sandbox in sandboxes.items():
            started = time.perf_counter()
            run = await sandbox.run(request, time_limit_s=10, memory_mb=256)
            times[name].append((time.perf_counter() - started) * 1000)
            assert json.loads(run.stdout)["ok"], run.logs
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--items", type=int, default=100)
    parser.add_argument("--network", action="store_true", help="bwrap runs get the egress proxy too")
    args = parser.parse_args()
    times = asyncio.run(measure(args.runs, args.items, args.network))
    print(f"{args.runs} runs each, alternating, {args.items} items, ms per run")
    print(f"{'sandbox':<16}{'median':>9}{'p95':>9}{'min':>9}")
    for name, values in times.items():
        print(f"{name:<16}{statistics.median(values):>9.1f}{percentile(values, 0.95):>9.1f}{min(values):>9.1f}")
    bwrap, plain = times["bwrap"], times["unsafe_process"]
    print(f"{'overhead':<16}{statistics.median(bwrap) - statistics.median(plain):>+9.1f}"
          f"{percentile(bwrap, 0.95) - percentile(plain, 0.95):>+9.1f}")


if __name__ == "__main__":
    main()
