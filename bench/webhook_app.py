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
    .venv/bin/python bench/webhook_app.py --scaled              # the scaled-out intake (PostgreSQL + Redis)

``--pipeline on`` also runs what `linkflow up` adds on the same loop: the outbox relay and every in-process
consumer (executors/relay.py), so the process CPU per request (all threads: the relay's reads and the consumers'
writes go to threads) shows what the event pipeline costs a saved run. Each block waits for the relay to catch up
(no unpublished outbox rows) before it stops the clock, so the work of the block is counted in full.

``--scaled`` measures the scaled-out intake instead (what `bench/queue.py --workers 0` measures over HTTP):
`webhook (respond immediately) -> set -> set` (bench/queue_bench.py's workflow) on a fresh PostgreSQL database
(LINKFLOW_TEST_POSTGRES_URL) with the Redis queue (LINKFLOW_BENCH_REDIS_URL, default db 9 of
LINKFLOW_TEST_REDIS_URL, flushed before and after); every answer must be 202 with an execution id, and each block
waits until Redis holds a message for every accepted webhook, so the process CPU per request counts the group
commit's thread and the Redis sends in full. No worker runs.

``--ab redis-send`` (with ``--scaled``) swaps the dispatcher's Redis sends between a dispatch script call per
message and one MULTI/EXEC per batch (executors/actors.py), and compares process CPU per accepted webhook.

``--ab outcomes`` (with ``--pipeline on`` and ``--save all``) swaps the status events of saved runs between an outbox
row per run and one packed row per group commit (backend/events/packed.py), and compares process CPU per request.

``--ab relay-interval`` (with ``--pipeline on``) swaps the relay's wait after a batch that published something between
the idle interval and the busy one (backend/events/relay.py), restarting the pipeline, and compares process CPU.

``--ab analytics-chunk`` (with ``--pipeline on``) swaps the analytics consumer's transactions on the loop between 8
usage events each and about ``ON_LOOP_RUNS`` executions each (backend/analytics/consumers.py); run it with
``--concurrency 1`` (one run per usage event) and with 32.

``--ab driver-write`` (with ``--save all``) swaps the loop's SQLite writes (the group commit of saved runs, the relay's
settle, the analytics consumer) and the relay's reads between transactions on SQLAlchemy's Connection and straight on the driver
(backend.db.session.driver_transaction).

``--ab checked-schema`` (with ``--pipeline on``) swaps the analytics consumer between reading each usage event's
payload again and taking the schema the relay's check read (``CheckedEvent.schema``).

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
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BODY = json.dumps({"n": 21, "name": "bench"}).encode()
EXPECTED = {"double": 42, "greeting": "hello bench"}


def _scope(path: str, body: bytes) -> dict:
    return {"type": "http", "asgi": {"version": "3.0", "spec_version": "2.3"}, "http_version": "1.1",
            "method": "POST", "scheme": "http", "path": path, "raw_path": path.encode(),
            "query_string": b"", "root_path": "", "client": ("127.0.0.1", 5555), "server": ("127.0.0.1", 8000),
            "headers": [(b"host", b"127.0.0.1:8000"), (b"content-type", b"application/json"),
                        (b"content-length", str(len(body)).encode())]}


TAILS: list[tuple] = []  # (p50, p95, p99) ms of each block
LATENCIES: list[float] = []  # wall seconds of each request of the current block
PIPELINE: dict = {}  # "now": the event pipeline running (--pipeline on), restarted by --ab relay-interval
SCALED = {"path": "/webhook/queue-bench", "body": json.dumps({"n": 21}).encode()}


async def _post(app, path: str, body: bytes) -> list[dict]:
    """The ASGI messages the app sent for one POST of ``body`` to ``path``."""
    sent: list[dict] = []

    async def receive() -> dict:
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: dict) -> None:
        sent.append(message)

    await app(_scope(path, body), receive, send)
    return sent


async def _request(app) -> None:
    if SCALED.get("on"):
        return await _accepted(app)
    sent = await _post(app, "/webhook/bench", BODY)
    if sent[0]["status"] != 200 or json.loads(sent[1]["body"]) != EXPECTED:
        raise SystemExit(f"wrong answer: {sent}")


async def _accepted(app) -> None:
    sent = await _post(app, SCALED["path"], SCALED["body"])
    if sent[0]["status"] != 202 or len(json.loads(sent[1]["body"]).get("execution_id", "")) != 32:
        raise SystemExit(f"wrong answer: {sent}")
    SCALED["accepted"] = SCALED.get("accepted", 0) + 1


def _redis_cpu() -> float:
    """Redis's own CPU seconds so far (user + system), with --scaled; else 0."""
    if not SCALED.get("on"):
        return 0.0
    info = SCALED["redis"].info("cpu")
    return info["used_cpu_user"] + info["used_cpu_sys"]


async def _enqueued(timeout_s: float = 60) -> None:
    """Until Redis holds a message for every accepted webhook (the dispatcher sends them after the commit)."""
    store, key = SCALED["redis"], SCALED["queue_key"]
    deadline = time.monotonic() + timeout_s
    while await asyncio.to_thread(store.hlen, key) < SCALED["accepted"]:
        if time.monotonic() > deadline:
            raise SystemExit(f"Redis holds {store.hlen(key)} messages for {SCALED['accepted']} accepted webhooks")
        await asyncio.sleep(0.01)


async def _block(app, requests: int, concurrency: int, *, drained: bool = False) -> tuple[float, float]:
    """µs of this thread's CPU and of the process's CPU per request, for `requests` requests, `concurrency` at a
    time; with `drained`, the clock stops once the outbox relay has published every row."""
    async def lane(count: int) -> None:
        for _ in range(count):
            start = time.perf_counter()
            await _request(app)
            LATENCIES.append(time.perf_counter() - start)

    done = requests // concurrency * concurrency
    LATENCIES.clear()
    thread, process = time.thread_time(), time.process_time() + _pipeline_process_cpu()
    redis_before = _redis_cpu()
    await asyncio.gather(*(lane(requests // concurrency) for _ in range(concurrency)))
    if SCALED.get("on"):
        await _enqueued()
        SCALED.setdefault("redis_us", []).append((_redis_cpu() - redis_before) / done * 1e6)
    ordered = sorted(LATENCIES)
    TAILS.append(tuple(ordered[int(len(ordered) * q)] * 1e3 for q in (0.5, 0.95, 0.99)))
    if drained:
        await _relayed()
    process = time.process_time() + _pipeline_process_cpu() - process
    return (time.thread_time() - thread) / done * 1e6, process / done * 1e6


def _pipeline_process_cpu() -> float:
    """CPU seconds of the event pipeline's own process so far (``--pipeline process``), else 0."""
    child = PIPELINE.get("process")
    if child is None or child.child is None:
        return 0.0
    fields = Path(f"/proc/{child.child.pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


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

        pipeline = PIPELINE["now"] = await start_event_pipeline()
    elif args.pipeline_process:  # `linkflow up` with LINKFLOW_EVENTS_PIPELINE=process (executors/embedded.py)
        from executors.pipeline_process import PipelineProcess
        from executors.relay import start_event_pipeline

        PIPELINE["process"] = PipelineProcess()
        PIPELINE["process"].start()
        pipeline = PIPELINE["now"] = await start_event_pipeline("commands")
    for _ in range(500):  # warm: routes cached, the workflow proven short (runs on the request loop)
        await _request(app)
    if pipeline is not None:
        await _relayed()  # the pipeline has started (its own process too) and caught up with the warm-up
    freeze_startup_heap()
    if args.ab:
        variants = {"resolve": _resolve_variants, "redis-send": _redis_send_variants, "outcomes": _outcome_variants,
                    "relay-interval": _relay_interval_variants, "give-way": _give_way_variants,
                    "analytics-chunk": _analytics_chunk_variants, "driver-write": _driver_write_variants,
                    "checked-schema": _checked_schema_variants}
        await _ab(app, save, args, variants[args.ab](), drained=pipeline is not None)
    else:
        blocks = [await _block(app, args.requests, args.concurrency, drained=pipeline is not None)
                  for _ in range(args.rounds)]
        loop_us, process_us = [b[0] for b in blocks], [b[1] for b in blocks]
        print(f"| {save} | {'process' if args.pipeline_process else 'on' if pipeline else 'off'} | {args.concurrency} | {_row(loop_us)} | {_row(process_us)} |")
        print("#   p50 / p95 / p99 ms of each block: " + " — ".join(" / ".join(f"{v:.2f}" for v in t) for t in TAILS))
    if PIPELINE.get("now") is not None:
        await PIPELINE["now"].stop()
    if PIPELINE.get("process") is not None:
        await PIPELINE["process"].stop()
    await into.put({"type": "lifespan.shutdown"})
    await out.get()
    await lifespan


def _median(values: list[float]) -> str:
    """Of the blocks a variant ran (they alternate with the other variant's)."""
    return f"{sorted(values)[len(values) // 2]:.0f}"


def _row(values: list[float]) -> str:
    return f"{' / '.join(f'{us:.0f}' for us in values)}, median {sorted(values)[len(values) // 2]:.0f}"


async def _ab(app, save: str, args: argparse.Namespace, variants: dict[str, Callable[[], None]], *,
              drained: bool = False) -> None:
    """Alternating blocks of each variant (each callable switches the process to its code), in one process. The
    figure is the request loop's CPU per request, or the process's when other threads do part of the work (the
    scaled-out intake, `linkflow up`'s event pipeline: each block then waits for the relay to publish every row)."""
    results: dict[str, list[float]] = {label: [] for label in variants}
    redis_us: dict[str, list[float]] = {label: [] for label in variants}
    tails: dict[str, list[tuple]] = {label: [] for label in variants}
    labels = list(variants)
    figure = 1 if SCALED.get("on") or drained else 0
    for round_ in range(args.rounds * 2):
        for label in labels if round_ % 2 == 0 else labels[::-1]:
            await _switch(variants[label])
            results[label].append((await _block(app, args.requests, args.concurrency, drained=drained))[figure])
            tails[label].append(TAILS[-1])
            if SCALED.get("on"):
                redis_us[label].append(SCALED["redis_us"][-1])
    await _switch(variants[labels[-1]])
    for label, values in results.items():
        print(f"| {save} | {label} | {' / '.join(f'{us:.0f}' for us in values)} "
              f"| {sorted(values)[len(values) // 2]:.0f} |" + (f" {_median(redis_us[label])} |" if SCALED.get("on") else ""))
    for label in labels:
        print(f"#   {label}: request p50 / p95 / p99 ms of each block: "
              + " — ".join(" / ".join(f"{v:.2f}" for v in tail) for tail in tails[label]))


async def _switch(variant: Callable[[], object]) -> None:
    """Switch the process to a variant's code (a switch that restarts something is a coroutine function)."""
    if asyncio.iscoroutine(switched := variant()):
        await switched


def _resolve_variants() -> dict[str, Callable[[], None]]:
    from backend.settings import Settings, get_settings

    now = Settings.__dict__["database_url"]
    before = property(lambda self: self.database.url or f"sqlite:///{(self.data_dir / 'linkflow.db').resolve()}")

    def use(url: property) -> Callable[[], None]:
        def switch() -> None:
            get_settings().__dict__.pop("database_url", None)
            Settings.database_url = url
        return switch

    return {"before (resolved on every read)": use(before), "now (once per settings)": use(now)}


def _outcome_variants() -> dict[str, Callable[[], None]]:
    """The status events of saved webhook runs: an outbox row per run (before 2026-12-07 evening), against one
    packed `execution.outcomes` row per group commit that the relay splits (backend/events/packed.py)."""
    from backend.events.outbox import outbox_row
    from backend.events.packed import outcome_event
    from backend.webhooks import persist

    packed = persist.outcome_rows

    def per_run(outcomes: list[list]) -> list[dict]:
        return [outbox_row("execution.events", entry[0], outcome_event(entry)) for entry in outcomes]

    return {"a row per run": lambda: setattr(persist, "outcome_rows", per_run),
            "one packed row per commit": lambda: setattr(persist, "outcome_rows", packed)}


def _relay_interval_variants() -> dict[str, Callable[[], object]]:
    """The relay's wait after a batch that published something but was not full: the idle interval (1 s, before
    2026-12-07 evening), against the busy one (backend/events/relay.py). Each switch restarts the pipeline."""
    import functools

    from backend.events import relay
    from executors import relay as pipeline_module
    from executors.relay import start_event_pipeline

    def use(busy_s: float) -> Callable[[], object]:
        async def switch() -> None:
            await PIPELINE["now"].stop()
            pipeline_module.relay_loop = functools.partial(relay.relay_loop, busy_interval_s=busy_s)
            PIPELINE["now"] = await start_event_pipeline()
        return switch

    return {f"{relay.INTERVAL_S:g} s after a batch": use(relay.INTERVAL_S),
            f"{relay.BUSY_INTERVAL_S:g} s after a batch": use(relay.BUSY_INTERVAL_S)}


def _give_way_variants() -> dict[str, Callable[[], None]]:
    """How long the event pipeline on the loop waits for the requests in flight before its next slice
    (backend/foreground.py): 1 ms against the default."""
    from backend import foreground

    default = foreground.GIVE_WAY_MAX_S
    return {"1 ms": lambda: setattr(foreground, "GIVE_WAY_MAX_S", 0.001),
            f"{default * 1e3:g} ms": lambda: setattr(foreground, "GIVE_WAY_MAX_S", default)}


def _analytics_chunk_variants() -> dict[str, Callable[[], None]]:
    """The analytics consumer's transactions on the loop (backend/analytics/consumers.py): 8 events each (before
    2026-12-07 night), against about `ON_LOOP_RUNS` executions and at most `ON_LOOP_EVENTS` events each, and at
    most 64 events each."""
    from backend.analytics import consumers

    runs, events = consumers.ON_LOOP_RUNS, consumers.ON_LOOP_EVENTS

    def use(runs: int, events: int) -> Callable[[], None]:
        def switch() -> None:
            consumers.ON_LOOP_RUNS, consumers.ON_LOOP_EVENTS = runs, events
        return switch

    return {"8 events": use(10**9, 8), f"~{runs} runs, <= {events} events": use(runs, events),
            f"~{runs} runs, <= 64 events": use(runs, 64)}


def _checked_schema_variants() -> dict[str, Callable[[], None]]:
    """The analytics consumer's usage facts: read from each event's payload again (before 2026-12-08), against
    taken from the schema the relay's check read (CheckedEvent.schema)."""
    from backend.analytics import consumers
    from backend.events.bus import Event

    taken = consumers._take

    def read_again(position: int, event, facts: list, refused: dict) -> None:
        taken(position, Event(*event), facts, refused)  # a plain Event has no schema: the consumer reads it

    return {"read again": lambda: setattr(consumers, "_take", read_again),
            "the relay's reading": lambda: setattr(consumers, "_take", taken)}


def _driver_write_variants() -> dict[str, Callable[[], None]]:
    """The loop's SQLite writes (saved runs, the relay's settle, analytics) through SQLAlchemy (before 2026-12-07,
    fourteenth sitting), against straight on the driver (backend.db.session.driver_transaction)."""
    import contextlib

    from backend.analytics import consumers
    from backend.events import relay
    from backend.webhooks import persist

    on_driver = persist.driver_transaction
    writers = (persist, relay, consumers)

    @contextlib.contextmanager
    def through_sqlalchemy(_engine):
        yield None

    reads = relay.driver_connection

    def use(how, read) -> Callable[[], None]:
        def switch() -> None:
            for module in writers:
                module.driver_transaction = how
            relay.driver_connection = read  # the relay's page reads
        return switch

    return {"SQLAlchemy Connection": use(through_sqlalchemy, lambda _engine: None), "driver": use(on_driver, reads)}


def _redis_send_variants() -> dict[str, Callable[[], None]]:
    """The Redis sends of the intake's dispatcher: a dispatch script call per message (before 2026-12-07 midday),
    against one MULTI/EXEC for the batch (executors/actors.py `_send`)."""
    from dramatiq.common import current_millis

    from executors import actors

    now = actors._send  # noqa: SLF001

    def per_message(broker, queue_name: str, messages: list) -> None:
        script = broker.scripts["dispatch"]
        pipe = broker.client.pipeline(transaction=False)
        for message in messages:
            pipe.evalsha(script.sha, 1, broker.namespace, "enqueue", current_millis(), queue_name, broker.broker_id,
                         broker.heartbeat_timeout, broker.dead_message_ttl, 0, broker._max_unpack_size(),  # noqa: SLF001
                         message.options["redis_message_id"], message.encode())
        pipe.execute()

    actors.get_broker().client.script_load(actors.get_broker().scripts["dispatch"].script)
    return {"a script call per message": lambda: setattr(actors, "_send", per_message),
            "one transaction per batch": lambda: setattr(actors, "_send", now)}


def _child(save: str, args: argparse.Namespace) -> None:
    """In a fresh process per save_data: its own database, settings and registries."""
    os.environ.update(LINKFLOW_DATA_DIR=tempfile.mkdtemp(prefix="lf-webhook-app-"), LINKFLOW_ENV="development")
    os.environ.pop("LINKFLOW_DATABASE_URL", None)
    sys.path[:0] = [str(args.root), str(ROOT / "bench")]
    import uvloop
    import webhook  # bench/webhook.py: the same workflow and setup

    if args.scaled:
        return _scaled_child(args)
    webhook.setup(save)
    uvloop.run(_measure(save, args))


def _scaled_child(args: argparse.Namespace) -> None:
    import queue_bench
    import redis
    import uvloop
    import webhook

    redis_url = queue_bench.bench_redis_url()
    database = webhook.Database("postgres")
    store = redis.Redis.from_url(redis_url)
    store.flushdb()
    os.environ.update({key: value for key, value in database.env().items() if key.startswith("LINKFLOW_")})
    os.environ.update(LINKFLOW_REDIS_URL=redis_url, LINKFLOW_QUEUE_BACKEND="redis", LINKFLOW_CACHE_BACKEND="redis")
    try:
        queue_bench.setup()
        from executors.actors import get_broker, run_execution

        SCALED.update(on=True, redis=store, queue_key=f"{get_broker().namespace}:{run_execution.queue_name}.msgs")
        uvloop.run(_measure("intake", args))
    finally:
        store.flushdb()
        database.drop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--save", choices=["none", "all", "both"], default="both")
    parser.add_argument("--requests", type=int, default=4000, help="per block (one measurement)")
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--ab", choices=["resolve", "redis-send", "outcomes", "relay-interval", "give-way",
                                         "analytics-chunk", "driver-write", "checked-schema"],
                        help="an A/B inside one process (see the module's doc; redis-send needs --scaled)")
    parser.add_argument("--pipeline", choices=["off", "on", "both", "process", "all"], default="off",
                        help="run `linkflow up`'s outbox relay and in-process consumers on the same loop (on), in a "
                             "process of their own (process: LINKFLOW_EVENTS_PIPELINE=process), or not (off); both: "
                             "off and on; all: off, on and process")
    parser.add_argument("--root", type=Path, default=ROOT, help="run the code of this checkout")
    parser.add_argument("--scaled", action="store_true",
                        help="the scaled-out intake: respond immediately, PostgreSQL + Redis (see the module's doc)")
    parser.add_argument("--pipeline-on", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--pipeline-process", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.ab in ("outcomes", "relay-interval", "give-way", "analytics-chunk", "checked-schema") and (args.pipeline != "on" or args.scaled):
        parser.error(f"--ab {args.ab} compares what the event pipeline does: give --pipeline on (not --scaled)")
    if args.ab == "redis-send" and not args.scaled:
        parser.error("--ab redis-send compares the scaled-out intake's Redis sends: give --scaled")
    if args.child:
        _child(args.child, args)
        return
    import subprocess

    print(f"# in process, {args.concurrency} requests at a time, {args.requests} per block; code: {args.root}; "
          f"load average {os.getloadavg()[0]:.1f}")
    if args.ab:
        what = "process" if args.scaled or args.pipeline == "on" else "loop"
        extra, rule = (" Redis CPU µs per request, median |", "---|") if args.scaled else ("", "")
        print(f"| save_data | code | {what} CPU µs per request, each block | median |{extra}\n|---|---|---|---|{rule}")
    else:
        print("| save_data | event pipeline | concurrency | request loop CPU µs per request, each round "
              "| process CPU µs per request, each round |\n|---|---|---|---|---|")
    pipelines = {"both": ["off", "on"], "all": ["off", "on", "process"]}.get(args.pipeline, [args.pipeline])
    for save in (["intake"] if args.scaled else ["none", "all"] if args.save == "both" else [args.save]):
        for pipeline in pipelines:
            subprocess.run([sys.executable, __file__, "--child", save, *sys.argv[1:],
                            *(["--pipeline-on"] if pipeline == "on" else []),
                            *(["--pipeline-process"] if pipeline == "process" else [])], check=True,
                           env={**os.environ, "PYTHONPATH": str(args.root)})


if __name__ == "__main__":
    main()
