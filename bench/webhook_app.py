"""The webhook app's own CPU per request, in process: no sockets, no HTTP parser, no client on the same cores.

`webhook -> set -> respond (last_node)` (the workflow of bench/webhook.py) on a fresh SQLite database, driven
through the ASGI app of `linkflow serve --role webhook` (`create_app()`, its lifespan started) by N concurrent
tasks on one uvloop loop. It prints the request loop's thread CPU per request: the figure bench/webhook.py cannot
separate from uvicorn, the client and run-to-run swings of this shared VM. Every answer is checked (200 and the
Set node's item).

    .venv/bin/python bench/webhook_app.py                       # save_data none and all, 3 rounds each
    .venv/bin/python bench/webhook_app.py --save all --rounds 5
    .venv/bin/python bench/webhook_app.py --ab resolve          # A/B inside one process (see below)
    .venv/bin/python bench/webhook_app.py --pipeline both       # without and with `linkflow up`'s event pipeline

``--pipeline on`` also runs what `linkflow up` adds on the same loop: the outbox relay and every in-process
consumer (executors/relay.py), so the process CPU per request (all threads: the relay's reads and the consumers'
writes go to threads) shows what the event pipeline costs a saved run. Each block waits for the relay to catch up
(no unpublished outbox rows) before it stops the clock, so the work of the block is counted in full.

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


async def _block(app, requests: int, concurrency: int, *, drained: bool = False) -> tuple[float, float]:
    """µs of this thread's CPU and of the process's CPU per request, for `requests` requests, `concurrency` at a
    time; with `drained`, the clock stops once the outbox relay has published every row."""
    async def lane(count: int) -> None:
        for _ in range(count):
            await _request(app)

    thread, process = time.thread_time(), time.process_time()
    await asyncio.gather(*(lane(requests // concurrency) for _ in range(concurrency)))
    if drained:
        await _relayed()
    done = requests // concurrency * concurrency
    return (time.thread_time() - thread) / done * 1e6, (time.process_time() - process) / done * 1e6


async def _relayed(timeout_s: float = 120) -> None:
    from sqlalchemy import func, select

    from backend.db.session import get_engine
    from backend.events.models import OutboxEvent

    def unpublished() -> int:
        with get_engine().connect() as connection:
            return connection.execute(select(func.count()).where(OutboxEvent.published_at.is_(None))).scalar_one()

    deadline = time.monotonic() + timeout_s
    while await asyncio.to_thread(unpublished):
        if time.monotonic() > deadline:
            raise SystemExit(f"the relay left rows unpublished for {timeout_s:g} s")
        await asyncio.sleep(0.05)


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
    pipeline = None
    if args.pipeline_on:
        from executors.relay import start_event_pipeline

        pipeline = await start_event_pipeline()
    for _ in range(500):  # warm: routes cached, the workflow proven short (runs on the request loop)
        await _request(app)
    freeze_startup_heap()
    if args.ab == "resolve":
        await _ab_resolve(app, save, args)
    else:
        blocks = [await _block(app, args.requests, args.concurrency, drained=pipeline is not None)
                  for _ in range(args.rounds)]
        loop_us, process_us = [b[0] for b in blocks], [b[1] for b in blocks]
        print(f"| {save} | {'on' if pipeline else 'off'} | {args.concurrency} | {_row(loop_us)} | {_row(process_us)} |")
    if pipeline is not None:
        await pipeline.stop()
    await into.put({"type": "lifespan.shutdown"})
    await out.get()
    await lifespan


def _row(values: list[float]) -> str:
    return f"{' / '.join(f'{us:.0f}' for us in values)}, median {sorted(values)[len(values) // 2]:.0f}"


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
            results[label].append((await _block(app, args.requests, args.concurrency))[0])
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
    parser.add_argument("--pipeline", choices=["off", "on", "both"], default="off",
                        help="run `linkflow up`'s outbox relay and in-process consumers on the same loop")
    parser.add_argument("--root", type=Path, default=ROOT, help="run the code of this checkout")
    parser.add_argument("--pipeline-on", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        _child(args.child, args)
        return
    import subprocess

    print(f"# in process, {args.concurrency} requests at a time, {args.requests} per block; code: {args.root}; "
          f"load average {os.getloadavg()[0]:.1f}")
    if args.ab:
        print("| save_data | code | loop CPU µs per request, each block | median |\n|---|---|---|---|")
    else:
        print("| save_data | event pipeline | concurrency | request loop CPU µs per request, each round "
              "| process CPU µs per request, each round |\n|---|---|---|---|---|")
    pipelines = ["off", "on"] if args.pipeline == "both" else [args.pipeline]
    for save in (["none", "all"] if args.save == "both" else [args.save]):
        for pipeline in pipelines:
            subprocess.run([sys.executable, __file__, "--child", save, *sys.argv[1:],
                            *(["--pipeline-on"] if pipeline == "on" else [])], check=True,
                           env={**os.environ, "PYTHONPATH": str(args.root)})


if __name__ == "__main__":
    main()
