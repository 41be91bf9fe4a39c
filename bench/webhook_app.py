"""The webhook app's own CPU per request, in process: no sockets, no HTTP parser, no client on the same cores.

`webhook -> set -> respond (last_node)` (the workflow of bench/webhook.py) on a fresh SQLite database, driven
through the ASGI app of `linkflow serve --role webhook` (`create_app()`, its lifespan started) by N concurrent
tasks on one uvloop loop. It prints the request loop's thread CPU per request: the figure bench/webhook.py cannot
separate from uvicorn, the client and run-to-run swings of this shared VM. Every answer is checked (200 and the
Set node's item).

    .venv/bin/python bench/webhook_app.py                       # save_data none and all, 3 rounds each
    .venv/bin/python bench/webhook_app.py --save all --rounds 5
    .venv/bin/python bench/webhook_app.py --ab resolve          # A/B inside one process (see below)

``--ab resolve`` swaps, between alternating blocks of requests in the same process, the settings' database URL
as it was before 9f21bd3 (the data directory resolved on every read, i.e. on every ``get_engine()``) and as it is
(worked out once per settings object): the same process, heap and database for both, so the VM's drift over
minutes does not enter the comparison.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BODY = json.dumps({"n": 21, "name": "bench"}).encode()
EXPECTED = {"double": 42, "greeting": "hello bench"}


def _scope() -> dict:
    return {"type": "http", "asgi": {"version": "3.0", "spec_version": "2.3"}, "http_version": "1.1",
            "method": "POST", "scheme": "http", "path": "/webhook/bench", "raw_path": b"/webhook/bench",
            "query_string": b"", "root_path": "", "client": ("127.0.0.1", 5555), "server": ("127.0.0.1", 8000),
            "headers": [(b"host", b"127.0.0.1:8000"), (b"content-type", b"application/json"),
                        (b"content-length", str(len(BODY)).encode())]}


async def _request(app) -> None:
    sent: list[dict] = []

    async def receive() -> dict:
        return {"type": "http.request", "body": BODY, "more_body": False}

    async def send(message: dict) -> None:
        sent.append(message)

    await app(_scope(), receive, send)
    if sent[0]["status"] != 200 or json.loads(sent[1]["body"]) != EXPECTED:
        raise SystemExit(f"wrong answer: {sent}")


async def _block(app, requests: int, concurrency: int) -> float:
    """µs of this thread's CPU per request for `requests` requests, `concurrency` at a time."""
    async def lane(count: int) -> None:
        for _ in range(count):
            await _request(app)

    started = time.thread_time()
    await asyncio.gather(*(lane(requests // concurrency) for _ in range(concurrency)))
    return (time.thread_time() - started) / (requests // concurrency * concurrency) * 1e6


async def _measure(save: str, args: argparse.Namespace) -> None:
    from backend.app import create_app
    from backend.observability import freeze_startup_heap

    app = create_app()
    into, out = asyncio.Queue(), asyncio.Queue()
    await into.put({"type": "lifespan.startup"})
    lifespan = asyncio.create_task(app({"type": "lifespan", "asgi": {"version": "3.0"}}, into.get, out.put))
    started = await out.get()
    if started["type"] != "lifespan.startup.complete":
        raise SystemExit(f"the app did not start: {started}")
    for _ in range(500):  # warm: routes cached, the workflow proven short (runs on the request loop)
        await _request(app)
    freeze_startup_heap()
    if args.ab == "resolve":
        await _ab_resolve(app, save, args)
    else:
        per_request = [await _block(app, args.requests, args.concurrency) for _ in range(args.rounds)]
        print(f"| {save} | {args.concurrency} | {' / '.join(f'{us:.0f}' for us in per_request)} "
              f"| {sorted(per_request)[len(per_request) // 2]:.0f} |")
    await into.put({"type": "lifespan.shutdown"})
    await out.get()
    await lifespan


async def _ab_resolve(app, save: str, args: argparse.Namespace) -> None:
    from backend.settings import Settings, get_settings

    now = Settings.__dict__["database_url"]
    before = property(lambda self: self.database.url or f"sqlite:///{(self.data_dir / 'linkflow.db').resolve()}")
    results: dict[str, list[float]] = {"before (resolved on every read)": [], "now (once per settings)": []}
    labels = list(results)
    for round_ in range(args.rounds * 2):
        for label in labels if round_ % 2 == 0 else labels[::-1]:
            get_settings().__dict__.pop("database_url", None)
            Settings.database_url = before if label == labels[0] else now
            results[label].append(await _block(app, args.requests, args.concurrency))
    Settings.database_url = now
    for label, values in results.items():
        print(f"| {save} | {label} | {' / '.join(f'{us:.0f}' for us in values)} "
              f"| {sorted(values)[len(values) // 2]:.0f} |")


def _child(save: str, args: argparse.Namespace) -> None:
    """In a fresh process per save_data: its own database, settings and registries."""
    os.environ.update(LINKFLOW_DATA_DIR=tempfile.mkdtemp(prefix="lf-webhook-app-"), LINKFLOW_ENV="development")
    os.environ.pop("LINKFLOW_DATABASE_URL", None)
    sys.path[:0] = [str(args.root), str(ROOT / "bench")]
    import uvloop
    import webhook  # bench/webhook.py: the same workflow and setup

    webhook.setup(save)
    uvloop.run(_measure(save, args))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--save", choices=["none", "all", "both"], default="both")
    parser.add_argument("--requests", type=int, default=4000, help="per block (one measurement)")
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--ab", choices=["resolve"], help="an A/B inside one process (see the module's doc)")
    parser.add_argument("--root", type=Path, default=ROOT, help="run the code of this checkout")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        _child(args.child, args)
        return
    import subprocess

    print(f"# in process, {args.concurrency} requests at a time, {args.requests} per block; code: {args.root}; "
          f"load average {os.getloadavg()[0]:.1f}")
    print("| save_data | code | loop CPU µs per request, each block | median |" if args.ab else
          "| save_data | concurrency | loop CPU µs per request, each round | median |")
    print("|---|---|---|---|")
    for save in (["none", "all"] if args.save == "both" else [args.save]):
        subprocess.run([sys.executable, __file__, "--child", save, *sys.argv[1:]], check=True,
                       env={**os.environ, "PYTHONPATH": str(args.root)})


if __name__ == "__main__":
    main()
