"""Memory of a file pipeline (issue #15's bounded-memory target), printed as numbers.

    .venv/bin/python bench/memory.py                  # 100,000 rows of ~1 KB
    .venv/bin/python bench/memory.py --rows 1000000   # the issue's size

manual_trigger (one item carrying a CSV file in storage) -> Extract from File (csv) -> Set ->
Filter (keeps half) -> Convert to File (csv), run by the engine in this process with the local
storage backend and no step persistence (NullStepStore), so the number is the engine and the
nodes alone. Prints the peak RSS growth over the process before the run, wall time, and rows/s.
Target of the issue: 1,000,000 rows with peak RSS < 400 MB for the worker.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import tempfile
import time

os.environ.setdefault("LINKFLOW_DATA_DIR", tempfile.mkdtemp(prefix="linkflow-bench-"))
os.environ.setdefault("LINKFLOW_LOG_LEVEL", "WARNING")

from backend.engine import EngineServices, ExecutionInfo, NullStepStore, run  # noqa: E402
from backend.settings import get_settings  # noqa: E402
from backend.storage.binary import StorageBinaryStore  # noqa: E402
from backend.storage.service import get_storage  # noqa: E402
from backend.storage.spill import StorageItemSpill  # noqa: E402

EXECUTION = "0" * 31 + "1"


def workflow() -> dict:
    def node(id_: str, type_: str, x: int, parameters: dict) -> dict:
        return {"id": id_, "name": id_, "type": type_, "version": 1, "position": [x, 0], "parameters": parameters}

    nodes = [node("start", "manual_trigger", 0, {}),
             node("extract", "extract_from_file", 1, {"operation": "csv"}),
             node("set", "set", 2, {"fields": [{"name": "even", "value": "{{ $json.id[-1] in '02468' }}"}]}),
             node("filter", "filter", 3, {"conditions": [{"left": "{{ $json.even }}", "operation": "equals",
                                                          "right": True}]}),
             node("convert", "convert_to_file", 4, {"operation": "csv"})]
    order = [n["id"] for n in nodes]
    return {"name": "memory bench", "nodes": nodes,
            "connections": [{"from": a, "to": b} for a, b in zip(order, order[1:], strict=False)]}


def csv_file(rows: int) -> str:
    path = os.path.join(os.environ["LINKFLOW_DATA_DIR"], "input.csv")
    payload = "x" * 1000
    with open(path, "w") as out:
        out.write("id,name,payload\n")
        for n in range(rows):
            out.write(f"{n},name {n},{payload}\n")
    return path


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


async def main(rows: int) -> None:
    path = csv_file(rows)
    binary = StorageBinaryStore(get_storage(), "bench-team", EXECUTION)
    with open(path, "rb") as handle:
        ref = await binary.put(handle, mime_type="text/csv", file_name="input.csv")
    before, started = rss_mb(), time.perf_counter()
    # As a worker builds them (executions/services_factory.py): binary data and spilled items in storage.
    services = EngineServices(binary=binary, spill=StorageItemSpill(get_storage(), "bench-team", EXECUTION),
                              spill_threshold_bytes=get_settings().storage.spill_threshold_bytes)
    result = await run(workflow(), execution=ExecutionInfo(id=EXECUTION), input_items=[{"json": {}, "binary": {
        "data": ref}}], store=NullStepStore(), services=services)
    seconds = time.perf_counter() - started
    assert result.status == "succeeded", result.error
    size = result.output[0]["binary"]["data"]["size"]
    print(f"rows={rows:,} input={os.path.getsize(path) / 1e6:.0f} MB output={size / 1e6:.0f} MB "
          f"wall={seconds:.1f} s rows/s={rows / seconds:,.0f} peak RSS growth={rss_mb() - before:,.0f} MB "
          f"(process peak {rss_mb():,.0f} MB)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=100_000)
    asyncio.run(main(parser.parse_args().rows))
